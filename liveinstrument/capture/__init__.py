"""Audio-input capture: input ring (callback side), onset detection, fast class decision,
analyze-to-pad and live beatbox mode. See capture/README.md for setting up a microphone.

    from liveinstrument.capture import Capture
    cap = Capture(inst, beatbox=True)                 # class pads (1, 2, 3) = kick, snare, hat
    out = AudioOut(inst, input_sink=cap.ring)         # duplex stream: the callback copies input only
    with out, cap: ...
"""
from .capture import Capture, velocity_from_peak
from .input_stream import InputRing
from .onset import HighPass, OnsetDetector, detect_onsets, precision_recall

__all__ = ["Capture", "InputRing", "HighPass", "OnsetDetector", "detect_onsets", "precision_recall",
           "velocity_from_peak"]
