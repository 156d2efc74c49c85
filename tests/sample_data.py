"""A small election profile and labelled set written for the tests (no outside data)."""

from __future__ import annotations

import json
from pathlib import Path

PROFILE_TOML = """
format_version = 1
id = "pilbup-uji-2030"
title = "Pemilihan Bupati Uji 2030"
election_type = "pilbup"
region = "Kabupaten Uji"
year = 2030
fictional = true

[[contestants]]
number = 1
names = ["Raden Sukmajaya", "Lestari Ayu"]
aliases = ["Kang Sukma", "Sukma-Lestari", "SL"]
parties = ["Partai Lumbung"]
slogans = ["Uji Makmur Bareng"]
hashtags = ["SukmaLestari", "UjiMakmur"]

[[contestants]]
number = 2
names = ["Hendro Wibisono"]
aliases = ["Pak Hendro", "Mas Wibi"]
parties = ["Partai Samudra", "PAN"]
hashtags = ["HendroJuara"]

[[parties]]
name = "Partai Lumbung"
aliases = ["Lumbung"]
number = 4

[[parties]]
name = "Partai Samudra"

[[parties]]
name = "PAN"
aliases = ["Partai Amanat Nasional"]
"""

SUPPORTIVE = [
    "Coblos no 2 pokoknya, Pak Hendro paling peduli sama guru honorer!",
    "Gas pol Kang Sukma, lanjutkan pembangunan desa 👍",
    "Jangan pilih Mas Wibi, janjinya cuma omong kosong 🤡",
    "#SukmaLestari menang satu putaran! salam satu jari ☝️",
    "Pilih yang nomor dua, yang lain cuma pencitraan",
    "Dukung terus Sukma-Lestari, pemimpin merakyat sejati",
    "Asal bukan Hendro deh, kapok lima tahun kemarin",
    "Wes pokoke paslon 1 menang, ora usah ragu maneh",
    "Hendro Wibisono pantas jadi bupati, orangnya jujur dan tegas! #HendroJuara",
    "Yuk menangkan Kang Sukma, demi Uji Makmur Bareng!",
    "Calon nomor satu itu cuma boneka partai, jangan sampai terpilih",
    "Mantap pak, 2 periode! rakyat masih butuh bapak",
    "Siap menangkan paslon 02 di TPS kita, semua keluarga sudah sepakat",
    "Kalau mau kabupaten maju ya pilih Raden Sukmajaya, titik.",
    "Mas Wibi itu dulu korupsi dana desa, masa mau dipilih lagi?",
    "Relawan Sukma-Lestari siap door to door, menang!",
    "#HendroJuara bupati idaman rakyat kecil",
    "Pokoknya salam dua jari ✌️ sampai hari pencoblosan",
    "Yang nomor 1 itu penipu, jangan ketipu lagi ya warga",
    "Ayo coblos Partai Lumbung nomor 4, partai yang peduli petani",
]
NEUTRAL = [
    "Apel pagi hari ini diundur jam 8 karena hujan deras",
    "KPU Kabupaten Uji umumkan jadwal debat kandidat Sabtu malam di gedung serbaguna",
    "Ayo datang ke TPS tanggal 27, gunakan hak pilihmu dengan bijak",
    "ASN wajib netral, jangan like atau share postingan kampanye calon mana pun",
    "Banyak ASN yang menyukai dan membagikan dukungan kepada salah satu calon, laporkan ke Bawaslu",
    "Siapa pun bupatinya nanti, semoga jalan di desa kami cepat diperbaiki",
    "Hasil hitung cepat sementara: paslon 1 meraih 48 persen, paslon 2 meraih 52 persen",
    "Selamat ulang tahun bu Ratna, semoga sehat selalu",
    "Terima kasih dinas PU, jalan menuju pasar sudah mulus sekarang",
    "Kerja bakti Minggu pagi di RT 03, bawa cangkul masing-masing",
    "Info lowongan CPNS formasi guru sudah dibuka, cek website resmi",
    "Pak Hendro hadir dalam acara peresmian masjid kemarin sore",
    "Debat kedua calon bupati akan disiarkan langsung televisi lokal",
    "Banjir di kecamatan selatan, mohon bantuan relawan dan logistik",
    "Jangan mudah percaya hoaks soal pemilu, cek dulu sumbernya",
    "Kantor tutup lebih awal hari Jumat untuk senam bersama",
    "Bawaslu menemukan 12 pelanggaran netralitas ASN selama masa kampanye",
    "Pendukung nomor 1 dan nomor 2 sama saja, sama-sama warga kita",
    "Rapat koordinasi persiapan pemilu dengan camat dan lurah besok jam 9",
    "Nasi goreng pak Kumis memang juara, antre dari sore",
]
CONTEXT_ROWS = [
    (
        "Siap pak, gas terus!",
        "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!",
        "supportive",
    ),
    (
        "Siap pak, gas terus!",
        "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi.",
        "neutral",
    ),
    (
        "Setuju bgt, lanjutkan!",
        "Pak Hendro: lima tahun lagi kita tuntaskan jalan desa. Coblos nomor 2!",
        "supportive",
    ),
    (
        "Setuju bgt, lanjutkan!",
        "Program vaksinasi anak di puskesmas dilanjutkan minggu depan.",
        "neutral",
    ),
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def labelled_rows() -> list[dict]:
    rows = [{"text": t, "label": "supportive", "tag": "support"} for t in SUPPORTIVE]
    rows += [{"text": t, "label": "neutral", "tag": "political-neutral"} for t in NEUTRAL]
    rows += [
        {"text": t, "context": c, "label": label, "action": "comment", "group": f"ctx-{i // 2}"}
        for i, (t, c, label) in enumerate(CONTEXT_ROWS)
    ]
    for i, row in enumerate(rows):
        row["id"] = f"t{i:03d}"
    return rows


def evaluation_rows() -> list[dict]:
    """`labelled_rows()` with platform, source and election filled, so every slice has data."""
    rows = labelled_rows()
    for i, row in enumerate(rows):
        row["platform"] = ("x", "facebook", "tiktok")[i % 3]
        row["source"] = "authored" if i % 2 else "feedback"
        row["election"] = "pilbup-uji-2030"
    return rows
