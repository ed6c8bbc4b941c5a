"""BloodCell's engine: data, architectures, training, inference, evaluation, model files.

It never imports Qt; the GUI and the command line are both its clients.
"""

import os

__version__ = "0.1.0"

# ONNX Runtime (1.2x and later) otherwise writes a device ID and a queue of usage events into
# ~/.cache/Microsoft/DeveloperTools/ the moment it is imported. A lab PC holding patient data
# gains no file it was not told about; the variable must be set before the import, and every
# path to onnxruntime runs through this package first.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
