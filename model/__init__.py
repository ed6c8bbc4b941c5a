"""BloodCell's engine: data, architectures, training, inference, evaluation, model files.

It never imports Qt; the GUI and the command line are both its clients.
"""

__version__ = "0.1.0"
