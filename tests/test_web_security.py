"""The web page's server on real sockets (aiohttp client), driving the real Instrument.

Untrained generator in-process (synchronous renderer) to keep the test quick; the page's
browser tests on JACK are the slow half of issue 17.
"""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from liveinstrument.engine.instrument import Instrument
from liveinstrument.web.server import WebServer


@pytest.fixture(scope="module")
def inst(random_synth):
    with Instrument(n_pads=4, synchronous=True, synth=random_synth, seed=1) as i:
        yield i


async def _get(url, **kw):
    async with aiohttp.ClientSession() as s:
        async with s.get(url, **kw) as r:
            return r.status, await r.text()


async def _ws_status(url, origin=None):
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as s:
        try:
            async with s.ws_connect(url, headers=headers) as ws:
                msg = await ws.receive(timeout=5)
                return 101, json.loads(msg.data)["t"]
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status, None


def test_lan_bind_refuses_page_and_socket_without_token(inst, tmp_path):
    with WebServer(inst, host="0.0.0.0", port=0, kit_dir=tmp_path) as web:
        port = web.address[1]
        base = f"http://127.0.0.1:{port}"
        assert web.token and web.token in web.url
        assert asyncio.run(_get(base + "/"))[0] == 403
        assert asyncio.run(_get(base + "/?token=wrong"))[0] == 403
        assert asyncio.run(_ws_status(f"ws://127.0.0.1:{port}/ws"))[0] == 403
        status, body = asyncio.run(_get(f"{base}/?token={web.token}"))
        assert status == 200 and "DrumGAN Live" in body
        assert asyncio.run(_ws_status(f"ws://127.0.0.1:{port}/ws?token={web.token}")) == (101, "hello")
        # a page from another site cannot open the socket even with the token
        assert asyncio.run(_ws_status(f"ws://127.0.0.1:{port}/ws?token={web.token}", "http://evil.example"))[0] == 403
        assert any("token" in line for line in web.describe())


def test_loopback_needs_no_token_but_refuses_foreign_hosts_and_origins(inst, tmp_path):
    with WebServer(inst, port=0, kit_dir=tmp_path) as web:
        port = web.address[1]
        assert web.token is None
        assert asyncio.run(_get(f"http://127.0.0.1:{port}/"))[0] == 200
        assert asyncio.run(_get(f"http://127.0.0.1:{port}/", headers={"Host": "rebind.example:80"}))[0] == 403
        assert asyncio.run(_ws_status(f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}")) == (101, "hello")
        assert asyncio.run(_ws_status(f"ws://127.0.0.1:{port}/ws", "http://evil.example"))[0] == 403


async def _session(url, sends):
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            for m in sends:
                await ws.send_str(m)
            got = []
            while not any(g["t"] == "pong" for g in got):
                msg = json.loads((await ws.receive(timeout=5)).data)
                got += msg["m"] if msg["t"] == "batch" else [msg]
            return got


def test_malformed_messages_are_counted_and_good_ones_drive_the_instrument(inst, tmp_path):
    with WebServer(inst, port=0, kit_dir=tmp_path / "kits") as web:
        url = f"ws://127.0.0.1:{web.address[1]}/ws"
        junk = ["not json", "[1,2]", '{"t": "nope"}', '{"t": "set", "pad": 99, "name": "kick", "value": 1}',
                '{"t": "set", "pad": 1, "name": "__class__", "value": 1}', '{"t": "trigger", "pad": 1, "vel": "x"}',
                "x" * 10_000]
        sends = junk + ['{"t": "set", "pad": 2, "name": "kick", "value": 0.25}',
                        '{"t": "kit_save", "name": "../../escape"}', '{"t": "kit_save", "name": "mine"}',
                        '{"t": "ping", "id": 3}']
        got = asyncio.run(_session(url, sends))
        types = [g["t"] for g in got]
        assert "hello" in types and "pong" in types
        err = next(g for g in got if g["t"] == "error")
        assert "not allowed" in err["msg"]
        assert next(g for g in got if g["t"] == "kit_saved")["names"] == ["mine"]
        assert (tmp_path / "kits" / "mine" / "kit.yaml").is_file()
        assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
        assert web.stats["malformed"] == len(junk)
        assert inst.state()["pads"][1]["kick"] == 0.25
