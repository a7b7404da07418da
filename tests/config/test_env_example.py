import re
from pathlib import Path

from config import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_every_setting_is_in_env_example_with_a_comment():
    lines = EXAMPLE.read_text().splitlines()
    documented = {}
    for i, line in enumerate(lines):
        match = re.match(r"^([A-Z0-9_]+)=", line)
        if match:
            # the variable, or the group it belongs to, is explained by a comment just above
            above = [ln for ln in lines[max(0, i - 3) : i] if ln.startswith("#")]
            documented[match.group(1)] = bool(above) or lines[i - 1].startswith(
                tuple(k + "=" for k in documented)
            )
    fields = {(f.alias or name).upper() for name, f in Settings.model_fields.items()}
    assert fields - set(documented) == set()
    assert set(documented) - fields == set()
    assert all(documented.values()), [k for k, ok in documented.items() if not ok]


def test_env_example_values_are_valid_settings(tmp_path):
    settings = Settings(_env_file=EXAMPLE)
    assert settings.port == 7860
    assert settings.env == "development"
