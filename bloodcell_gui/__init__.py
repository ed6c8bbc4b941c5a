"""BloodCell's desktop application (Qt). The engine it drives lives in `model/`."""
