"""VibeCode infrastructure as code: one ComponentResource per concern, a thin `__main__`."""
