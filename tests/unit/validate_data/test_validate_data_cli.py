"""The command line: draft a contract from parquet, validate a parquet batch."""

import subprocess
import sys

from components.validate_data.core import load_contract, main


def test_draft_then_validate_in_process(good_batch, now, tmp_path, capsys):
    """Drafting a contract and validating with it works through `main`.

    Proves `draft` writes a YAML contract that load_contract accepts (name and compound key
    from the flags), and `validate` exits 0 on the reference batch and 1 on a corrupted one,
    printing the failed check and writing both reports.
    Cannot prove the argument parsing of the installed console (the subprocess test does).
    """
    data, contract = tmp_path / "ref.parquet", tmp_path / "contract.yaml"
    good_batch.to_parquet(data)
    args = ["draft", "--data", str(data), "--out", str(contract), "--name", "ref"]
    assert main([*args, "--unique", "customer_id,event_timestamp"]) == 0
    drafted = load_contract(contract)
    assert drafted.name == "ref"
    assert drafted.unique == (("customer_id", "event_timestamp"),)

    report, result = tmp_path / "r.html", tmp_path / "r.json"
    check = ["validate", "--contract", str(contract), "--now", now]
    check += ["--report", str(report), "--result", str(result)]
    assert main([*check, "--data", str(data)]) == 0
    assert report.exists()
    assert result.exists()
    bad = tmp_path / "bad.parquet"
    good_batch.assign(churned=2).to_parquet(bad)
    capsys.readouterr()
    assert main([*check, "--data", str(bad)]) == 1
    assert "churned: expect_column_values_to_be_in_set" in capsys.readouterr().out


def test_module_entry_point_drafts(good_batch, tmp_path):
    """`python -m components.validate_data.core draft` runs as documented.

    Proves the module is executable with the documented command and writes a loadable
    contract (the draft path does not import Great Expectations, so this stays quick).
    Cannot prove the command works outside this venv.
    """
    data, out = tmp_path / "ref.parquet", tmp_path / "c.yaml"
    good_batch.to_parquet(data)
    cmd = [sys.executable, "-m", "components.validate_data.core", "draft"]
    done = subprocess.run(
        [*cmd, "--data", str(data), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    assert load_contract(out).column_names == tuple(good_batch.columns)
