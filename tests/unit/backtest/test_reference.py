"""Reference data for a backtest from the loaders' CSV files."""

from __future__ import annotations

from pathlib import Path

import msgspec

from pipeline.backtest.reference import load_reference
from pipeline.contract.models import Party
from pipeline.settings import Settings
from tests.factories import bare_declaration

ROOT = Path(__file__).resolve().parents[3]
AEO = "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner\n"
WATCHLIST = "entry_id,name,aliases,country,ids,list,action,reason\n"


def test_rows_are_applied_and_bad_rows_skipped_with_file_and_line(tmp_path: Path) -> None:
    aeo = tmp_path / "aeo.csv"
    aeo.write_text(AEO + "DEAEOF1,AEO,MUSTER GMBH,DE,AEOF,ACTIVE,2020-01-01,,\nbad,row\n")
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text(
        WATCHLIST + "E1,KESTREL LOGISTICS,,IR,TIN:TX1,NATIONAL,DNL,proliferation\n"
    )

    loaded = load_reference(Settings().scoring, [aeo], [watchlist])

    assert (loaded.aeo_records, loaded.watchlist_entries) == (1, 1)
    assert loaded.skipped == [f"{aeo}:3: 2 columns, expected 9"]
    party = msgspec.convert(
        {"name": "Muster GmbH", "ids": [{"scheme": "AEO", "value": "DEAEOF1"}]}, Party
    )
    facts, status = loaded.data.lookup(bare_declaration("D"), "consignee", party)
    assert (status.status, status.aeo_type, facts.aeo_security) == ("ACTIVE", "AEOF", True)
    listed = msgspec.convert({"name": "Kestrel Logistics"}, Party)
    facts, _ = loaded.data.lookup(bare_declaration("D"), "consignee", listed)
    assert facts.watchlist_action == "DNL"


def test_the_sample_data_loads_whole() -> None:
    loaded = load_reference(
        Settings().scoring,
        [ROOT / "deploy/sample-data/aeo.csv"],
        [ROOT / "deploy/sample-data/watchlist.csv"],
    )
    assert loaded.skipped == []
    assert loaded.aeo_records > 0
    assert loaded.watchlist_entries > 0
