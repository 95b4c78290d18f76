"""WebServer: the page, its WebSocket and the audio-drop upload, on aiohttp in its own thread.

Why aiohttp: one well-kept library that is both the HTTP server and the WebSocket server,
runs inside any thread's own asyncio loop (no second process, no uvicorn/ASGI layer to
configure), and has per-message size limits, heartbeats and request-body limits built in.

Real-time rules: nothing here runs on the audio thread, and nothing the audio path waits
on waits for this thread. Instrument callbacks (value changes, hits) arrive on the MIDI,
OSC or web threads; they only store the newest value in a dict and wake the loop (once
per burst), which sends at most one WebSocket frame per client per ``FLUSH_S``. Drawing
data for a re-rendered sound is computed on a worker thread from a copy (views.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from liveinstrument.control.common import RateLimitedLog, Selection, Stats
from liveinstrument.web import protocol
from liveinstrument.web.kits import default_kit_dir, list_kits
from liveinstrument.web.security import (TOKEN_COOKIE, TOKEN_HEADER, is_loopback, lan_address,
                                         loopback_host_header, make_token, origin_ok, qr_text, token_ok)
from liveinstrument.web.uploads import MAX_UPLOAD_BYTES, UploadError, decode_audio
from liveinstrument.web.views import sound_view

log = logging.getLogger("liveinstrument.web")

FLUSH_S = 1 / 60          # value changes and hits reach the page within one display frame
METER_S = 0.1             # meters and re-render checks, while a page is open
STATS_S = 1.0             # audio-out stats (a percentile over its timing ring: ~1 ms, so 1 Hz)
CLIENT_QUEUE = 128        # frames a slow client may lag before it is dropped (it reconnects)
MAX_CLIENTS = 8
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_CSP = ("default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'")


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files (package data), read once: name -> (bytes, content type)."""
    root = resources.files("liveinstrument.web").joinpath("static")
    out = {}
    for f in root.iterdir():
        suffix = Path(f.name).suffix
        if f.is_file() and suffix in _TYPES:
            out[f.name] = (f.read_bytes(), _TYPES[suffix])
    return out


class _Client:
    """One open page: a bounded queue of text frames and the task that sends them."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(CLIENT_QUEUE)
        self.task: asyncio.Task | None = None

    def put(self, text: str) -> bool:
        try:
            self.queue.put_nowait(text)
            return True
        except asyncio.QueueFull:
            return False

    async def run(self) -> None:
        try:
            while True:
                await self.ws.send_str(await self.queue.get())
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass


class WebServer:
    """Serve the control page for ``inst`` at ``http://host:port/``.

    ``audio_out``: the AudioOut/NullOut whose ``stats()`` feed the load and xrun meters.
    ``surfaces``: the running ControlSurfaces; its pad selection and MIDI learn are shared
    with the page (None: the page has its own selection and no learn).
    ``host``: a loopback address needs no token; any other (e.g. ``0.0.0.0``) makes every
    request carry ``token`` (generated when None) as ``?token=``, cookie or header.
    ``port`` 0 picks a free port (see :attr:`url`).
    """

    def __init__(self, inst: Any, audio_out: Any = None, surfaces: Any = None, *, host: str = "127.0.0.1",
                 port: int = 8000, kit_dir: str | Path | None = None, token: str | None = None,
                 max_upload: int = MAX_UPLOAD_BYTES) -> None:
        self.inst, self.out = inst, audio_out
        self.host, self.port = host, int(port)
        self.lan = not is_loopback(host)
        self.token = (token or make_token()) if self.lan else None
        self.kit_dir = Path(kit_dir) if kit_dir is not None else default_kit_dir()
        self.max_upload = int(max_upload)
        self.stats = Stats()
        self._warn = RateLimitedLog(log)
        selection = surfaces.selection if surfaces is not None else Selection(inst.n_pads)
        self.session = protocol.Session(inst, selection, getattr(surfaces, "learn", None), self.kit_dir,
                                        self.stats, midi_inputs=len(getattr(surfaces, "midi_inputs", ())))
        self._files = _static_files()
        self._clients: set[_Client] = set()
        self._pending: dict[tuple, dict] = {}
        self._pending_lock = threading.Lock()
        self._flush_scheduled = False
        self._views: dict[int, dict] = {}           # pad -> latest "sound" message
        self._seen_gen: dict[int, int] = {}
        self._view_busy: set[int] = set()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="web-work")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._bound: tuple[str, int] | None = None
        self._stats_cache: dict = {}
        self._stats_t = 0.0
        self._subscribed = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "WebServer":
        """Bind and serve in a thread; raises OSError (port in use, bad address) from here."""
        if not self._subscribed:      # once per server: a restarted server keeps its listeners
            self.inst.subscribe(self._on_change)
            if hasattr(self.inst, "subscribe_hits"):
                self.inst.subscribe_hits(self._on_hit)
            self.session.selection.listen(self._on_select)
            if self.session.learn is not None:
                self.session.learn.listeners.append(self._on_learned)
            self._subscribed = True
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)
        self._thread.start()
        self._ready.wait(15.0)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(5.0)
        self._pool.shutdown(wait=False, cancel_futures=True)

    close = stop

    def __enter__(self) -> "WebServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self._bound or (self.host, self.port)

    @property
    def url(self) -> str:
        """The URL to open (with the token on a LAN bind; a wildcard bind shows this machine's LAN IP)."""
        host, port = self.address
        shown = lan_address() if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}/" + (f"?token={self.token}" if self.token else "")

    def describe(self, qr: bool = True) -> list[str]:
        """Startup banner lines: the URL, and on a LAN bind the token and a QR code of the URL."""
        if not self.lan:
            return [f"web: {self.url}  (this machine only; --web-host 0.0.0.0 for a tablet)"]
        lines = [f"web: {self.url}", f"web token: {self.token}  (required off this machine; scan to open)"]
        if qr:
            lines.append(qr_text(self.url).rstrip("\n"))
        return lines

    def stats_snapshot(self) -> dict[str, int]:
        d = self.stats.snapshot()
        d["clients"] = len(self._clients)
        return d

    # ------------------------------------------------------------------ instrument callbacks (any thread)
    def _queue(self, key: tuple, msg: dict) -> None:
        if not self._clients or self._loop is None:
            return
        with self._pending_lock:
            self._pending[key] = msg
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._schedule_flush)
        except RuntimeError:  # loop closed while stopping
            pass

    def _on_change(self, pad: int, name: str, value: float) -> None:
        self._queue(("v", pad, name), {"t": "param", "pad": pad, "name": name, "value": round(float(value), 4)})

    def _on_hit(self, pad: int, velocity: float) -> None:
        self._queue(("h", pad), {"t": "hit", "pad": pad, "vel": round(float(velocity), 3)})

    def _on_select(self, pad: int) -> None:
        self._queue(("s",), {"t": "selected", "pad": int(pad)})

    def _on_learned(self, kind: str, number: int, target: Any) -> None:
        what = f"{'note' if kind == 'note' else 'CC'} {number} -> {target.describe()}"
        self._queue(("l",), {"t": "learned", "what": what})

    # ------------------------------------------------------------------ loop thread
    def _schedule_flush(self) -> None:
        self._loop.call_later(FLUSH_S, self._flush)

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = list(self._pending.values()), {}
            self._flush_scheduled = False
        # Values as notified: the Instrument sends every pad-value notice with the value current
        # when it goes out, one at a time, so the newest notice per value is the truth.
        if not batch:
            return
        self._broadcast({"t": "batch", "m": batch})

    def _broadcast(self, msg: dict) -> None:
        text = json.dumps(msg, separators=(",", ":"))
        for c in list(self._clients):
            if not c.put(text):           # this page stopped reading: drop it, it reconnects
                self.stats.inc("slow_clients")
                self._clients.discard(c)
                asyncio.ensure_future(c.ws.close())

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # bind errors surface in start()
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._guard], client_max_size=self.max_upload + 65_536)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/favicon.ico", self._favicon)   # asked for by browsers whatever the page says
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/upload", self._upload)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
            self._bound = tuple(runner.addresses[0][:2])  # type: ignore[assignment]
            self._ready.set()
            ticker = asyncio.ensure_future(self._tick())
            await self._stopping.wait()
            ticker.cancel()
            for c in list(self._clients):
                await c.ws.close()
        finally:
            await runner.cleanup()

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        if not self.lan and not loopback_host_header(request.host):
            self.stats.inc("refused")            # a DNS-rebinding name pointed at 127.0.0.1
            return web.Response(status=403, text="open this page as http://127.0.0.1 (this server is local)")
        given = (request.query.get("token") or request.cookies.get(TOKEN_COOKIE)
                 or request.headers.get(TOKEN_HEADER))
        if not token_ok(self.token, given):
            self.stats.inc("refused")
            return web.Response(status=403, text="DrumGAN Live: this page needs the token printed where "
                                                 "'drumgan live' runs: open the URL it shows (…/?token=…)")
        return await handler(request)

    async def _index(self, request: web.Request) -> web.Response:
        body, ctype = self._files["index.html"]
        resp = web.Response(body=body, content_type=ctype, charset="utf-8",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy": _CSP,
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
        if self.token:  # the page's own requests (script, socket, upload) then carry it
            resp.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
        return resp

    async def _static(self, request: web.Request) -> web.Response:
        f = self._files.get(request.match_info["name"])
        if f is None or f[1] == "text/html":
            raise web.HTTPNotFound()
        return web.Response(body=f[0], content_type=f[1], headers={"Cache-Control": "no-cache",
                                                                    "X-Content-Type-Options": "nosniff"})

    async def _favicon(self, request: web.Request) -> web.Response:
        body, ctype = self._files["favicon.svg"]
        return web.Response(body=body, content_type=ctype, headers={"Cache-Control": "max-age=86400"})

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if not origin_ok(request.headers.get("Origin"), request.host):
            self.stats.inc("refused")
            return web.Response(status=403, text="WebSocket from another site refused")
        if len(self._clients) >= MAX_CLIENTS:
            return web.Response(status=503, text=f"at most {MAX_CLIENTS} pages at once")
        ws = web.WebSocketResponse(max_msg_size=protocol.MAX_MESSAGE_CHARS * 4, heartbeat=20.0, compress=False)
        await ws.prepare(request)
        client = _Client(ws)
        client.task = asyncio.ensure_future(client.run())
        self._clients.add(client)
        self.stats.inc("connections")
        try:
            client.put(json.dumps(self._hello()))
            for v in list(self._views.values()):
                client.put(json.dumps(v))
            async for m in ws:
                if m.type == WSMsgType.TEXT:
                    await self._on_message(client, m.data)
                elif m.type == WSMsgType.BINARY:
                    self._malformed("binary frame")
                elif m.type == WSMsgType.ERROR:
                    self._malformed(f"socket error {ws.exception()!r}")
        finally:
            self._clients.discard(client)
            client.task.cancel()
        return ws

    def _malformed(self, why: str) -> None:
        self.stats.inc("malformed")
        self._warn.warn("malformed", "web: ignored a malformed message (%s)", why)

    async def _on_message(self, client: _Client, text: str) -> None:
        try:
            msg = protocol.parse(text)
            if msg["t"] in protocol.SLOW:
                reply = await self._loop.run_in_executor(self._pool, protocol.handle, msg, self.session)
            else:
                reply = protocol.handle(msg, self.session)
        except protocol.Malformed as exc:
            self._malformed(str(exc))
            return
        except Exception as exc:  # never let one request take the page down
            self.stats.inc("errors")
            self._warn.warn("error", "web: request failed: %r", exc)
            reply = {"t": "error", "msg": f"{exc.__class__.__name__}: {exc}"}
        if reply is not None:
            client.put(json.dumps(reply))

    def _hello(self) -> dict:
        st = self.inst.state()
        pads = [{k: p[k] for k in p if isinstance(p[k], (int, float, str, bool))} for p in st["pads"]]
        return {"t": "hello", "pads": pads, "master": st.get("master", 0.8),
                "selected": self.session.selection.pad, "kits": list_kits(self.kit_dir),
                "learn": self.session.learn is not None and self.session.midi_inputs > 0,
                "sample_rate": st.get("sample_rate"), "model": st.get("model_hash", "")}

    async def _upload(self, request: web.Request) -> web.Response:
        if not origin_ok(request.headers.get("Origin"), request.host):
            self.stats.inc("refused")
            return web.json_response({"error": "upload from another site refused"}, status=403)
        name = request.query.get("name", "file")[:80]
        try:
            pad = int(request.query.get("pad", ""))
            if not 1 <= pad <= self.inst.n_pads:
                raise ValueError
        except ValueError:
            return web.json_response({"error": f"pad must be 1..{self.inst.n_pads}"}, status=400)
        too_big = {"error": f"{name}: larger than {self.max_upload // (1024 * 1024)} MB: drop a one-shot"}
        if request.content_length is not None and request.content_length > self.max_upload:
            self.stats.inc("uploads_rejected")
            return web.json_response(too_big, status=413)
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.stats.inc("uploads_rejected")
            return web.json_response(too_big, status=413)
        if len(data) > self.max_upload:
            self.stats.inc("uploads_rejected")
            return web.json_response(too_big, status=413)
        try:
            audio, rate = await self._loop.run_in_executor(self._pool, decode_audio, data)
        except UploadError as exc:
            self.stats.inc("uploads_rejected")
            return web.json_response({"error": f"{name}: {exc}"}, status=400)
        self.inst.analyze_audio(pad, audio, rate)
        self.stats.inc("uploads")
        return web.json_response({"ok": True, "pad": pad, "name": name, "seconds": round(audio.size / rate, 3)})

    # ------------------------------------------------------------------ meters and sound views
    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(METER_S)
            if not self._clients:
                continue
            try:
                self._broadcast(self._meters())
                self._check_sounds()
            except Exception as exc:
                self.stats.inc("errors")
                self._warn.warn("tick", "web: meters failed: %r", exc)

    def _meters(self) -> dict:
        m = dict(self.inst.meters()) if hasattr(self.inst, "meters") else {}
        now = time.monotonic()
        if self.out is not None and now - self._stats_t >= STATS_S:
            st = self.out.stats()
            self._stats_cache = {"xruns": int(st.get("xruns", 0)), "load": float(st.get("load_p99", 0.0))}
            self._stats_t = now
        return {"t": "meters", **m, **self._stats_cache, "malformed": self.stats["malformed"]}

    def _check_sounds(self) -> None:
        for pad in range(1, self.inst.n_pads + 1):
            gen = self.inst.generation(pad)
            if gen != self._seen_gen.get(pad) and pad not in self._view_busy:
                self._view_busy.add(pad)
                fut = self._loop.run_in_executor(self._pool, self._sound_message, pad)
                fut.add_done_callback(lambda f, p=pad: self._sound_done(p, f))

    def _sound_message(self, pad: int) -> dict | None:
        got = self.inst.pad_sound(pad)
        if got is None:
            return None
        gen, audio = got
        return {"t": "sound", "pad": pad, "gen": gen, **sound_view(audio, self.inst.sample_rate)}

    def _sound_done(self, pad: int, fut) -> None:
        self._view_busy.discard(pad)
        try:
            msg = fut.result()
        except Exception as exc:
            self._warn.warn("view", "web: drawing pad %d failed: %r", pad, exc)
            return
        if msg is not None:
            self._seen_gen[pad] = msg["gen"]
            self._views[pad] = msg
            self._broadcast(msg)
