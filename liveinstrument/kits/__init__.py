"""Kits in and out: a folder of one-shots -> a neural kit; a kit -> SFZ, Hydrogen or WAV files."""
