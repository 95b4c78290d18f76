"""DrumGAN Live: a neural drum instrument (DrumGAN VST rebuilt as a live instrument)."""
__version__ = "0.1.0"
