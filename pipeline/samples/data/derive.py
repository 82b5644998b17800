"""Re-derive the bundled CSV files from the public data sets they were cut from.

Usage: ``python pipeline/samples/data/derive.py SHARED_DATA_DIR`` where the directory holds
``hs/``, ``unlocode/`` and ``country/`` as described in LICENSES.md. The selection below is
the whole derivation: rerunning it on the same source commits reproduces the files exactly.
"""

from __future__ import annotations

import csv
import gzip
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Whole chapters: the ones risk rules care about, plus ordinary container and air trade.
HS_CHAPTERS = _codes("93 36 30 33 64 91 85 39 40 42 48 61 62 63 69 70 73 82 83 94 95 96 09 34 65")
# Large chapters cut down to the headings common in consumer and industrial trade.
HS_HEADINGS = _codes(
    """
    8407 8408 8413 8414 8415 8418 8421 8422 8423 8424 8425 8427 8428 8429 8433 8443
    8450 8451 8452 8467 8470 8471 8473 8479 8481 8482 8483 8486 8487
    8701 8702 8703 8704 8708 8711 8712 8714 8716
    9001 9002 9004 9006 9013 9015 9017 9018 9019 9025 9026 9027 9028 9030 9031 9032
    """
)

# Major seaports, airports and inland terminals of the main trading countries, plus ports and
# airports of transhipment hubs and sanctioned or high-risk countries.
LOCODES = _codes(
    """
    CNSGH CNSHG CNNBG CNQDG CNSZP CNYTN CNSHK CNCWN CNNSA CNTXG CNXMG CNDAL CNLYG CNFZH CNZJG
    CNQIN CNNBO CNTNJ CNXAM CNSNZ CNXIA CNCQI CNCDU CNNHN CNPVG CNSHA CNCAN CNSZX CNPEK CNPKX
    CNCTU CNCKG CNXMN CNNGB CNTAO CNTSN CNCGO CNHGH CNWUH SGSIN MYPKG MYTPP MYPEN MYKUL VNTOT
    VNCMT VNHPH VNSGN VNDAD VNHAN THLCH THBKK IDJKT IDSUB IDSRG PHMNL PHBTG KRPUS KRINC KRKAN
    KRUSN KRICN KRSEL JPTYO JPYOK JPUKB JPOSA JPNGO JPHKT JPNRT JPKIX JPHND TWKHH TWKEL TWTXG
    TWTPE HKHKG INNSA INMUN INMAA INCCU INCOK INPAV INVTZ INBOM INDEL INBLR INHYD LKCMB PKKHI
    PKBQM BDCGP AEJEA AEDXB AEAUH AEKHL AEDWC AESHJ OMSLL OMSOH SAJED SADMM QAHMD QADOH ILHFA
    ILASH ILTLV EGPSD EGALY EGDAM EGCAI TRAMR TRMER TRIZM TRGEM TRIST TRIZT MAPTM MACAS NGAPP
    NGTIN NGLOS GHTEM CIABJ SNDKR KEMBA KENBO TZDAR ETADD DJJIB ZADUR ZACPT ZAPLZ ZAZBA ZAJNB
    USLAX USLGB USNYC USSAV USHOU USSEA USTIW USORF USCHS USOAK USBAL USMIA USJAX USMOB USMSY
    USBOS USPHL USJFK USORD USATL USANC USDFW USSFO USMEM USLUI USIND USEWR CAVAN CAMTR CAHAL
    CAPRR CAYYZ MXZLO MXLZC MXVER MXATM MXMEX PAONX PABLB PAMIT PAPAM BRSSZ BRRIG BRPNG BRITJ
    BRSUA BRSFS BRGRU BRVCP ARBUE CLSAI CLVAP PECLL COCTG COBUN ECGYE UYMVD AUSYD AUMEL AUBNE
    AUFRE NZAKL NZTRG IRBND IRBKM IRIKA IRTHR SYLTK SYTTS SYDAM KPNAM KPFNJ RUNVS RULED RUVVO
    RUMOW RUSVO BYMSQ VEPBL CUHAV CUMAR MMRGN YEADE LYTIP SDPZU AFKBL KZALA RSBEG GBFXT GBSOU
    GBLGP GBLIV GBTIL GBLHR GBSTN GBEMA NOOSL CHBSL CHZRH CHGVA DEHAM DEBRV DEWVN DEDUI DEFRA
    DELEJ DECGN DEMUC DENUE NLRTM NLAMS NLVLI BEANR BEZEE BELGG BEBRU FRLEH FRMRS FRFOS FRDKK
    FRCDG FRPAR ITGOA ITGIT ITSPE ITTRS ITLIV ITNAP ITVCE ITMXP ITFCO ESALG ESVLC ESBCN ESBIO
    ESMAD ESZAZ PTSIE PTLEI PTLIS PLGDN PLGDY PLWAW GRPIR GRSKG SIKOP HRRJK ROCND DKAAR DKCPH
    SEGOT SEARN FIHEL FIKTK IEDUB IEORK MTMAR LTKLJ LVRIX EETLL BGVAR BGSOF CYLMS ATVIE HUBUD
    CZPRG LULUX
    """
)


def derive_subheadings(source: Path, target: Path) -> int:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            (row["hscode"], row["description"])
            for row in csv.DictReader(handle)
            if row["level"] == "6"
            and (row["hscode"][:2] in HS_CHAPTERS or row["hscode"][:4] in HS_HEADINGS)
        ]
    _write(target, ("hscode", "description"), rows)
    return len(rows)


def _location_row(row: dict[str, str]) -> tuple[str, str]:
    """Name and function of one geoapify row.

    A few rows whose name holds a comma were written with broken quoting, which shifts the
    columns by two: the name is then split over two fields and the function sits under iata.
    """
    name = row["nameWoDiacritics"]
    if row["name"].startswith('"'):
        return row["name"].strip('" '), row["iata"]
    return name, row["function"]


def derive_locodes(source: Path, target: Path) -> set[str]:
    wanted = set(LOCODES)
    found: dict[str, tuple[str, str, str, str]] = {}
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["country"] + row["location"]
            if code in wanted and code not in found:
                name, function = _location_row(row)
                found[code] = (code, name, row["country"], function)
    missing = wanted - found.keys()
    if missing:
        raise SystemExit(f"locodes not in the source: {sorted(missing)}")
    _write(target, ("code", "name", "country", "function"), sorted(found.values()))
    return {code[:2] for code in found}


def derive_countries(source: Path, target: Path, wanted: set[str]) -> int:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            (
                row["ISO3166-1-Alpha-2"],
                row["CLDR display name"],
                row["Sub-region Name"],
                row["ISO4217-currency_alphabetic_code"].split(",")[0],
                "".join(ch for ch in row["Dial"].split(",")[0] if ch.isdigit()),
                row["TLD"],
                row["Capital"],
            )
            for row in csv.DictReader(handle)
            if row["ISO3166-1-Alpha-2"] in wanted
        ]
    header = ("code", "name", "subregion", "currency", "dial", "tld", "capital")
    _write(target, header, sorted(rows))
    return len(rows)


def _write(target: Path, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(shared: Path) -> None:
    hs = derive_subheadings(shared / "hs/harmonized-system.csv", HERE / "hs_subheadings.csv")
    countries = derive_locodes(
        shared / "unlocode/geoapify-unlocode-all.csv.gz", HERE / "locodes.csv"
    )
    n = derive_countries(shared / "country/country-codes.csv", HERE / "countries.csv", countries)
    print(f"{hs} subheadings, {len(LOCODES)} locations, {n} countries")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
