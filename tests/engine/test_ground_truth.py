from model.evaluation.ground_truth import FolderTruth, has_class_folders


def test_class_folders_give_ground_truth_to_the_images_below_them(tmp_path):
    labelled = tmp_path / "labelled"
    (labelled / "eosinophil").mkdir(parents=True)
    (labelled / "other").mkdir()
    plain = tmp_path / "plain"
    plain.mkdir()
    classes = ["EOSINOPHIL", "LYMPHOCYTE"]
    assert has_class_folders(labelled, classes) and not has_class_folders(plain, classes)
    truth = FolderTruth([labelled, plain, tmp_path / "missing"], classes)
    assert truth(labelled / "eosinophil" / "a.jpg") == 0
    assert truth(labelled / "other" / "a.jpg") is None
    assert truth(plain / "a.jpg") is None
