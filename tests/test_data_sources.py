"""The #14 data sources: LMMS / Sonic Pi labels and licences, soundfont kit grouping, kit folds."""
import numpy as np
import pytest

from liveinstrument.data import sources as src
from liveinstrument.train.classifier import fold_groups, kit_group


def test_lmms_names_label_as_their_drums():
    assert src.label_from_name("ride01") == "cymbal"  # "ride" followed by a digit
    assert src.label_from_name("override") == "other"
    assert src.label_from_name("bassdrum_acoustic01") == "kick"
    assert src.label_from_name("hihat_foot_pedal01") == "cymbal"
    assert src.label_from_name("snare_rim01") == "snare"
    assert src.label_from_name("tom_low01") == "other"


def test_sonic_pi_licences_parsed_from_debian_copyright(tmp_path):
    f = tmp_path / "copyright"
    f.write_text("Files: *\nLicense: MIT\n\nFiles: etc/samples/bd_808.flac\n etc/samples/sn_dub.flac\n"
                 "Copyright: x\nLicense: CC0\n\nFiles: etc/samples/elec_snare.flac\nLicense: CC-BY-3.0\n")
    lic = src.sonic_pi_licences(f)
    assert lic == {"bd_808": "CC0", "sn_dub": "CC0", "elec_snare": "CC-BY-3.0"}


@pytest.mark.skipif(not src.SONIC_PI_SAMPLES.is_dir(), reason="sonic-pi-samples not installed")
def test_sonic_pi_items_are_labelled_drums_only():
    items = src.sonic_pi_items()
    names = {i.instrument: i.label for i in items}
    assert names["bd_808"] == "kick" and names["sn_dub"] == "snare" and names["drum_cymbal_open"] == "cymbal"
    assert "ambi_choir" not in names and "loop_amen" not in names
    assert all(i.licence in ("CC0", "MIT") for i in items)


def test_soundfont_kits_group_per_soundfont_and_folds_keep_groups_whole():
    assert kit_group("MuseScoreGeneral Room") == kit_group("FluidR3 Standard") == "FluidR3"
    assert kit_group("TimGM6mb Jazz") == "TimGM6mb"
    assert kit_group("Audiophob") == "Audiophob"
    groups = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20 + ["d"] * 10 + ["e"] * 5)
    folds = fold_groups(groups, 3)
    assert len(set(folds)) == 3
    for g in set(groups):
        assert len(set(folds[groups == g])) == 1  # a kit never straddles two folds
    sizes = sorted(np.unique(folds, return_counts=True)[1])
    assert sizes == [30, 35, 50]  # a: 50 | b: 30 + e: 5 | c: 20 + d: 10
