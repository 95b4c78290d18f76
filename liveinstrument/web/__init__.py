"""The browser control surface: `drumgan live` serves a page (pads, sliders, sounds, meters).

:class:`WebServer` runs an aiohttp app in its own thread and event loop; the page talks to
it over one WebSocket (JSON both ways) and uploads dropped audio files with a POST. It
drives the same :class:`~liveinstrument.engine.instrument.Instrument` methods MIDI and OSC
call and follows the instrument's change notifications, so there is one state.
"""
from liveinstrument.web.server import WebServer

__all__ = ["WebServer"]
