"""Performer control: MIDI (mido + python-rtmidi), OSC (python-osc), mappings, MIDI learn."""
