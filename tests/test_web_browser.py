"""The page in a real headless Chromium (Selenium) against the real Instrument and WebServer.

The synchronous renderer keeps it quick; what reaches the JACK output is checked in
tests/test_web_jack.py (pad click, kick slider, MIDI CC, dropped WAV on the recorded output).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from liveinstrument.engine.instrument import Instrument
from liveinstrument.web.server import WebServer


@pytest.fixture(scope="module")
def page(random_synth, tmp_path_factory):
    if not shutil.which("chromedriver"):
        pytest.skip("chromium-driver not installed (scripts/install-system-deps.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"):
        o.add_argument(a)
    with Instrument(n_pads=16, synchronous=True, synth=random_synth, seed=3) as inst, \
            WebServer(inst, port=0, kit_dir=tmp_path_factory.mktemp("kits")) as web:
        drv = webdriver.Chrome(options=o, service=Service(shutil.which("chromedriver")))
        try:
            drv.get(web.url)
            _until(lambda: drv.execute_script("return window.drumgan && window.drumgan.ready"))
            yield inst, web, drv
        finally:
            drv.quit()


def _until(pred, timeout=10.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if pred():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_pad_click_slider_and_follow(page):
    inst, web, drv = page
    from selenium.webdriver.common.by import By
    hits = []
    inst.subscribe_hits(lambda p, v: hits.append((p, v)))
    pad2 = drv.find_element(By.CSS_SELECTOR, '.pad[data-pad="2"]')
    from selenium.webdriver import ActionChains
    ActionChains(drv).move_to_element_with_offset(pad2, 0, -pad2.size["height"] // 3).click().perform()
    _until(lambda: hits)
    assert hits[0][0] == 2 and hits[0][1] > 0.6          # struck high: loud
    # the page's kick slider sets the instrument's state (selected pad 2 now)
    _until(lambda: drv.execute_script("return window.drumgan.state.selected") == 2)
    kick = drv.find_element(By.ID, "s-kick")
    ActionChains(drv).move_to_element_with_offset(kick, kick.size["width"] // 2 - 2, 0).click().perform()
    _until(lambda: inst.state()["pads"][1]["kick"] > 0.9)
    # sounds are drawn: every pad got a generation
    _until(lambda: all(int(e.get_attribute("data-gen")) > 0 for e in drv.find_elements(By.CSS_SELECTOR, ".pad")))
    out = Path(__file__).resolve().parent.parent / "out"
    out.mkdir(exist_ok=True)
    drv.save_screenshot(str(out / "web_page.png"))
    drv.set_window_size(390, 844)
    time.sleep(0.3)
    assert drv.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    drv.save_screenshot(str(out / "web_page_phone.png"))


def test_page_follows_other_sources(page):
    """A value set by another source (as MIDI/OSC do) moves the slider; a hit flashes the pad."""
    inst, web, drv = page
    from selenium.webdriver.common.by import By
    select = drv.find_element(By.CSS_SELECTOR, '.pad[data-pad="2"]')
    pad2, kick = select, drv.find_element(By.ID, "s-kick")
    # another source (as MIDI/OSC would) moves the slider on the page; a hit flashes the pad
    inst.set_param(2, "kick", 0.1)
    _until(lambda: abs(float(kick.get_attribute("value")) - 0.1) < 0.01)
    inst.trigger(2, 0.5)
    _until(lambda: int(pad2.get_attribute("data-hits")) >= 2)
