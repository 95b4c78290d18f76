"""Mapping files, validation errors, the MIDI router's decisions and MIDI learn's file writes.

The router is fed raw MIDI bytes directly here (no ports); the transports are tested with
real JACK MIDI and real UDP in test_control_midi.py / test_control_osc.py. The engine is
another unit: a RecordingControls implementation of InstrumentControls stands in for it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from liveinstrument.control.learn import MidiLearn, parse_target_spec, save_learned
from liveinstrument.control.mapping import (ALL_PADS, MAPPINGS_DIR, SELECTED, MappingError, Shape,
                                            Target, load_mapping, parse_mapping)
from liveinstrument.control.midi_in import MidiRouter
from liveinstrument.control.recording import RecordingControls
from liveinstrument.engine.commands import PAD_PARAMS


def router_for(mapping_name: str = "gm-default") -> tuple[MidiRouter, RecordingControls]:
    rec = RecordingControls()
    return MidiRouter(rec, load_mapping(mapping_name)), rec


# -- shipped mappings -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["gm-default", "generic-16pad", "touchosc"])
def test_shipped_mappings_load(name: str) -> None:
    m = load_mapping(name)
    assert m.source == MAPPINGS_DIR / f"{name}.yaml"
    assert m.osc_root == "/drumgan"
    assert m.max_pad() <= 16


def test_gm_notes_land_on_matching_pads() -> None:
    m = load_mapping("gm-default")
    pad_of = {n: ts[0].pad for n, ts in m.notes.items() if ts[0].kind == "trigger"}
    assert pad_of[36] == pad_of[35] == 1                                  # kicks
    assert pad_of[38] == 2                                                # snare
    assert (pad_of[42], pad_of[44], pad_of[46]) == (3, 3, 4)              # hats (pedal = closed)
    assert pad_of[49] == pad_of[57] == pad_of[55] == 5                    # crashes
    assert pad_of[51] == pad_of[59] == 6                                  # rides
    assert (pad_of[45], pad_of[48]) == (7, 8)                             # toms
    # the pad hints agree: pad 1 is a kick, 3..6 are cymbals
    assert m.pads[1]["kick"] == 1.0 and all(m.pads[p]["cymbal"] == 1.0 for p in (3, 4, 5))


def test_gm_default_agrees_with_the_engines_default_kit() -> None:
    """Live MIDI and `drumgan render` (kit notes) must play the same pads for GM notes."""
    state = pytest.importorskip("liveinstrument.engine.state")
    kit = state.default_kit(16)
    m = load_mapping("gm-default")
    for i, pad in enumerate(kit):
        if pad.note == 44:
            continue  # the pedal hat plays the closed hat here (choke group), see gm-default.yaml
        assert m.notes[pad.note][0].pad == i + 1, (pad.name, pad.note)
        if i < 8:
            assert m.pads[i + 1]["name"] == pad.name
    kinds = {t.kind for ts in m.cc.values() for t in ts}
    assert {"param", "global", "action", "select"} <= kinds
    assert {ts[0].name for ts in m.cc.values() if ts[0].kind == "param"} == set(PAD_PARAMS)


def test_generic_16pad_is_chromatic_from_36() -> None:
    m = load_mapping("generic-16pad")
    assert [m.notes[36 + i][0] for i in range(16)] == [Target("trigger", pad=i + 1) for i in range(16)]
    assert all(m.notes[n][0].kind == "action" for n in (84, 85, 86))


# -- validation -------------------------------------------------------------------------

def errors_of(text: str) -> str:
    with pytest.raises(MappingError) as ei:
        parse_mapping(text, source="my.yaml")
    return str(ei.value)


def test_errors_name_file_line_and_fix() -> None:
    msg = errors_of(
        "midi:\n"
        "  notes:\n"
        "    36: {trigger: 1}\n"
        "    200: {trigger: 2}\n"               # line 4: bad note
        "    37: {param: kick}\n"               # line 5: a param on a note
        "  cc:\n"
        "    20: {param: kik, pad: 1}\n"        # line 7: typo
        "    21: {param: snare, pad: 1, range: [0, 2]}\n"  # line 8
        "    22: {global: master, pad: 1}\n"    # line 9: globals have no pad
        "  channel: 17\n"                       # line 10
        "mdi: {}\n")                            # line 11: unknown section
    assert "7 problems" in msg
    lines = [int(l.split(":")[1]) for l in msg.splitlines()[1:]]
    assert lines == sorted(lines)  # in file order
    assert "my.yaml:4: midi.notes.200: note number must be 0..127" in msg
    assert "my.yaml:5:" in msg and "bind param to a CC" in msg
    assert "my.yaml:7: midi.cc.20.param: unknown pad param 'kik'" in msg and "kick" in msg
    assert "my.yaml:8: midi.cc.21.range:" in msg
    assert "my.yaml:9:" in msg and "remove 'pad'" in msg
    assert "my.yaml:10: midi.channel: MIDI channel must be 1..16" in msg
    assert "my.yaml:11: mdi: unknown key 'mdi'" in msg


def test_duplicate_keys_are_reported_not_silently_merged() -> None:
    msg = errors_of("midi:\n  cc:\n    20: {param: kick}\n    20: {param: snare}\n")
    assert "my.yaml:4: midi.cc.20: defined twice (also line 3)" in msg


def test_yaml_syntax_error_has_a_line() -> None:
    msg = errors_of("midi:\n  notes:\n    36: {trigger: 1\n    37: {trigger: 2}\n")
    assert msg.startswith("my.yaml:") and "YAML syntax error" in msg


def test_unknown_mapping_name_lists_shipped_ones() -> None:
    with pytest.raises(MappingError, match="gm-default"):
        load_mapping("no-such-mapping")


def test_osc_section_validation() -> None:
    msg = errors_of("osc:\n  root: drumgan/\n  addresses:\n    fader1: {param: kick}\n"
                    "  feedback: [nohost]\n")
    assert "osc.root" in msg and "osc.addresses.fader1" in msg and "osc.feedback.0" in msg


def test_shape_range_curve_invert() -> None:
    m = parse_mapping("midi:\n  cc:\n    20: {param: kick, pad: 2, range: [0.2, 0.6], curve: exp, invert: true}\n")
    t = m.cc[20][0]
    assert t == Target("param", pad=2, name="kick", shape=Shape(0.2, 0.6, 2.0, True))
    assert t.shape(0.0) == pytest.approx(0.6) and t.shape(1.0) == pytest.approx(0.2)
    assert t.shape(0.5) == pytest.approx(0.2 + 0.4 * 0.25)
    for y in (0.2, 0.3, 0.6):
        assert t.shape(t.shape.inverse(y)) == pytest.approx(y)


# -- router decisions --------------------------------------------------------------------

def test_notes_velocity_and_note_off() -> None:
    r, rec = router_for()
    r.feed([0x99, 38, 127])      # ch 10 snare
    r.feed([0x99, 38, 0])        # note-on velocity 0 = note-off
    r.feed([0x80, 36, 64])
    r.feed([0x90, 42, 64])
    assert rec.calls == [("trigger", 2, 1.0), ("release", 2), ("release", 1),
                         ("trigger", 3, pytest.approx(64 / 127))]
    assert r.selection.pad == 3  # select_on_trigger


def test_cc_to_selected_pad_all_pads_and_global() -> None:
    r, rec = router_for("generic-16pad")
    r.feed([0x90, 40, 100])          # play pad 5: it becomes the selected pad
    r.feed([0xB0, 70, 127])          # knob 1 -> kick of selected pad
    r.feed([0xB0, 82, 0])            # decay on all pads
    r.feed([0xB0, 7, 64])            # master
    r.feed([0xB0, 83, 127])          # variation on all pads, range [0, 0.6]
    assert rec.calls[1:] == [("set_param", 5, "kick", 1.0), ("set_param", ALL_PADS, "decay", 0.0),
                             ("set_global", "master", pytest.approx(64 / 127)),
                             ("set_param", 0, "variation", pytest.approx(0.6))]


def test_cc_buttons_fire_once_per_press_and_select_notes() -> None:
    r, rec = router_for()
    for v in (127, 127, 0, 100, 30):  # held button repeats 127: fire once; 0 -> 100: fire again
        r.feed([0xB0, 102, v])
    assert rec.calls == [("action", 1, "generate")] * 2
    r2, rec2 = router_for("generic-16pad")
    r2.feed([0x90, 55, 90])           # bank B: select pad 4 without playing
    r2.feed([0x90, 85, 90])           # new_direction on the selected pad
    assert rec2.calls == [("action", 4, "new_direction")]


def test_pitchbend_and_channel_filter() -> None:
    r, rec = router_for()
    r.feed([0xE0, 0x00, 0x40])       # centre
    assert rec.calls == [("set_param", 1, "tune", pytest.approx(8192 / 16383))]
    m = parse_mapping("midi:\n  channel: 10\n  notes:\n    36: 1\n    38: {trigger: 2, channel: 1}\n")
    rec2 = RecordingControls()
    r2 = MidiRouter(rec2, m)
    for msg in ([0x90, 36, 100], [0x99, 36, 100], [0x90, 38, 100], [0x99, 38, 100]):
        r2.feed(msg)
    assert [c[1] for c in rec2.calls] == [1, 2]


def test_junk_sysex_and_engine_errors_are_counted_never_raised() -> None:
    class Exploding(RecordingControls):
        def trigger(self, pad: int, velocity: float) -> None:
            raise RuntimeError("engine bug")

    r = MidiRouter(Exploding(), load_mapping("gm-default"))
    for msg in ([0xF0, 1, 2, 3, 0xF7], [], [0x40, 0x40], [0x90, 36], [0x90, 200, 1],
                [0xF8], [0xC0, 5], [0x90, 36, 100]):
        r.feed(msg)
    s = r.stats.snapshot()
    # Parsed like a hardware synth (MidiStream): 0xF8 is a real-time byte, and the 200 (0xC8)
    # inside [0x90, 200, 1] is a status byte that starts a program change on channel 9.
    assert s["sysex"] == 1 and s["junk"] == 4 and s["realtime"] == 1 and s["errors"] == 1
    assert s["unmapped"] == 2  # the two program changes


# -- MIDI learn -------------------------------------------------------------------------

@pytest.fixture
def user_mapping(tmp_path: Path) -> Path:
    p = tmp_path / "my-kit.yaml"
    shutil.copy(MAPPINGS_DIR / "generic-16pad.yaml", p)
    return p


def test_learn_binds_next_cc_and_saves_a_file_that_reloads(user_mapping: Path) -> None:
    rec = RecordingControls()
    r = MidiRouter(rec, load_mapping(user_mapping))
    learn = MidiLearn(r, user_mapping)
    original = user_mapping.read_text()
    learn.arm("pad/3/kick")
    r.feed([0x90, 60, 100])           # a note does not bind a param: it still plays (unmapped here)
    assert learn.armed is not None
    r.feed([0xB0, 21, 40])            # consumed by learning
    assert learn.armed is None and learn.save_error is None
    r.feed([0xB0, 21, 127])           # now live
    assert rec.calls[-1] == ("set_param", 3, "kick", 1.0)

    reloaded = load_mapping(user_mapping)
    assert reloaded.learned_cc == {21: [Target("param", pad=3, name="kick")]}
    text = user_mapping.read_text()
    assert text.startswith(original.rstrip("\n"))  # the performer's comments survive
    assert "# MIDI learn writes the section below" in text

    # Re-learning the same target moves it; an action learns from a note; file stays valid.
    learn.arm("pad/3/kick")
    r.feed([0xB0, 22, 1])
    learn.arm("pad/selected/generate")
    r.feed([0x90, 99, 10])
    m = load_mapping(user_mapping)
    assert m.learned_cc == {22: [Target("param", pad=3, name="kick")]}
    assert m.learned_notes == {99: [Target("action", pad=SELECTED, name="generate")]}
    assert user_mapping.read_text().count("learned:") == 1


def test_learned_section_spliced_in_place_keeps_following_comments(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: x\nlearned:\n  cc:\n    5: {global: master}\n# keep me\n\nosc:\n  root: /x\n")
    m = load_mapping(p)
    m.learned_cc[6] = [Target("param", pad=ALL_PADS, name="decay")]
    save_learned(p, m)
    text = p.read_text()
    assert "# keep me" in text and "osc:\n  root: /x" in text
    assert load_mapping(p).learned_cc[6] == [Target("param", pad=ALL_PADS, name="decay")]


def test_learn_target_specs() -> None:
    assert parse_target_spec("master").kind == "global"
    assert parse_target_spec("/pad/all/decay") == Target("param", pad=ALL_PADS, name="decay")
    assert parse_target_spec("pad/2/trigger") == Target("trigger", pad=2)
    assert parse_target_spec("select/value").kind == "select"
    for bad in ("pad/x/kick", "pad/1/kik", "volume", "pad/all/trigger"):
        with pytest.raises(ValueError, match="pad/N"):
            parse_target_spec(bad)
