"""`bloodcell session info | export`: a saved review session read without the window."""

from __future__ import annotations

import argparse
import json
import sys

from model.cli.guard import check_output
from model.common.atomic import atomic_writer
from model.common.formatting import one_line
from model.review.export import write_session_csv


def run_session_info(args: argparse.Namespace) -> int:
    from model.review.session_file import load_session, session_json

    session = load_session(args.file)
    if args.json:
        print(json.dumps(session_json(session), indent=1, ensure_ascii=False))
        return 0
    sample = session.sample
    # Every text a person typed prints on its own line as it is: a line break or carriage return
    # in it is shown as \n or \r, never obeyed (it could forge a line of this output).
    signed = (
        f"signed by {one_line(session.signature.reviewer)} at {one_line(session.signature.stamp.local)}"
        if session.signature
        else "not signed"
    )
    print(
        f"sample {one_line(sample.sample_id) or '(no ID)'}  patient {one_line(sample.patient_ref) or '-'}  "
        f"reviewer {one_line(session.reviewer) or '-'}"
    )
    print(
        f"{signed}; {session.classified} images classified, {session.unidentified_count} unidentified, "
        f"{session.review_count} in the review bin, {len(session.failed)} unreadable"
    )
    counts = session.counts()
    counted = sum(counts)
    print(f"differential ({counted} cells counted, target {sample.target_count}):")
    for name, count in zip(session.classes, counts, strict=True):
        print(f"  {name:<12} {count:6d}  {count / counted if counted else 0:6.1%}")
    if sample.comments:
        print(f"comments: {one_line(sample.comments)}")
    print(f"audit trail ({len(session.audit)} entries):")
    for entry in session.audit:
        print(f"  {one_line(entry.describe())}")
    return 0


def run_session_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the file is as BloodCell saved it (and its images, where found, are the
    pictures classified); 1 with each alteration named otherwise."""
    from model.common.formatting import terminal_path
    from model.review.session_file import verify_session_file

    found = verify_session_file(args.file)
    for note in found.notes:
        print(f"note: {note}")
    if found.problems:
        for problem in found.problems:
            print(f"ALTERED: {problem}", file=sys.stderr)
        return 1
    print(f"{terminal_path(args.file)}: intact (content, audit trail and signature as saved)")
    return 0


def run_session_export(args: argparse.Namespace) -> int:
    import csv

    from model.review.export import csv_cell
    from model.review.session_file import load_session

    check_output(args.csv, [args.file], what="CSV file")
    if args.audit:
        check_output(args.audit, [args.file, args.csv], what="audit CSV file")
    session = load_session(args.file)
    write_session_csv(session, args.csv, model_name="", model_sha256="")
    if args.audit:
        with atomic_writer(args.audit, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["time_utc", "time_local", "reviewer", "event", "details"])
            for entry in session.audit:
                details = "; ".join(f"{k}={v}" for k, v in entry.details.items())
                values = (entry.stamp.utc, entry.stamp.local, entry.reviewer, entry.event, details)
                writer.writerow([csv_cell(v) for v in values])
    print(f"wrote {args.csv}" + (f" and {args.audit}" if args.audit else ""))
    return 0
