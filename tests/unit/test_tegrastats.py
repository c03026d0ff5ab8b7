"""tegrastats lines of every release in use -> metrics with units; nothing ever raises."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from harness_jobs.telemetry.tegrastats import parse_line

TX2 = ("RAM 2020/7852MB (lfb 1164x4MB) CPU [9%@345,21%@345,25%@345,3%@345,1%@345,1%@345] EMC_FREQ 0% "
       "GR3D_FREQ 0% PLL@42.5C MCPU@42.5C PMIC@100C Tboard@40C GPU@41C BCPU@42.5C thermal@41.9C Tdiode@41.25C "
       "VDD_SYS_GPU 153/158 VDD_SYS_SOC 536/547 VDD_4V0_WIFI 633/527 VDD_IN 3140/3208 VDD_SYS_CPU 536/590 "
       "VDD_SYS_DDR 557/601")
NANO = ("RAM 1500/3964MB (lfb 100x4MB) SWAP 0/1982MB (cached 0MB) IRAM 0/252kB(lfb 252kB) CPU [5%@102,3%@102,off,off] "
        "EMC_FREQ 3%@1600 GR3D_FREQ 46%@76 APE 25 PLL@33C CPU@36C PMIC@100C GPU@34.5C AO@41C thermal@35C "
        "POM_5V_IN 1290/1290 POM_5V_GPU 0/0 POM_5V_CPU 155/155")
ORIN = ("11-26-2026 07:00:00 RAM 2448/7620MB (lfb 14x4MB) SWAP 0/3810MB (cached 0MB) CPU [0%@729,off,2%@729,0%@729] "
        "EMC_FREQ 0%@2133 GR3D_FREQ 12%@[611,621] VIC_FREQ 729 APE 174 CV0@-256C CPU@44.218C GPU@42.5C "
        "VDD_IN 4831mW/5208mW VDD_CPU_GPU_CV 482mW/482mW VDD_SOC 1438mW/1438mW")
XAVIER = ("RAM 3000/15692MB (lfb 3000x4MB) SWAP 0/7846MB (cached 0MB) CPU [1%@1190,0%@1190] EMC_FREQ 0%@2133 "
          "GR3D_FREQ 0%@114 APE 150 MTS fg 0% bg 0% AO@39.5C GPU@39C Tdiode@41C AUX@38.5C CPU@40.5C thermal@39.4C "
          "GPU 0/0 CPU 155/155 SOC 1087/1087 CV 0/0 VDDRQ 155/155 SYS5V 1207/1207")


def test_the_real_tx2_line():
    s = parse_line(TX2)
    assert s["power_w"] == 3.14 and s["power_rail"] == "VDD_IN"
    assert s["rail_vdd_sys_gpu_w"] == 0.153 and s["rail_vdd_sys_ddr_w"] == 0.557
    assert s["gpu_util_percent"] == 0.0 and "gpu_freq_mhz" not in s
    assert (s["ram_used_mb"], s["ram_total_mb"]) == (2020.0, 7852.0)
    assert s["cpu_util_percent"] == 10.0 and s["cpu_cores_online"] == 6 and s["cpu_freq_mhz"] == 345.0
    assert s["temp_gpu_c"] == 41.0 == s["temperature_c"] and s["temp_tdiode_c"] == 41.25
    assert s["raw"] == "(lfb 1164x4MB)"


def test_nano_total_rail_is_pom_5v_in_and_r32_gpu_frequency():
    s = parse_line(NANO)
    assert s["power_w"] == 1.29 and s["power_rail"] == "POM_5V_IN"
    assert s["gpu_util_percent"] == 46.0 and s["gpu_freq_mhz"] == 76.0
    assert s["cpu_cores_online"] == 2 and s["swap_total_mb"] == 1982.0
    assert "IRAM" in s["raw"] and "APE 25" in s["raw"]


def test_r35_timestamp_mw_suffix_and_per_gpc_frequencies():
    s = parse_line(ORIN)
    assert s["power_w"] == 4.831 and s["rail_vdd_soc_w"] == 1.438
    assert s["gpu_util_percent"] == 12.0 and s["gpu_freq_mhz"] == 616.0  # mean of the GPCs
    assert "temp_cv0_c" not in s  # -256C: sensor off, not a temperature
    assert s["emc_freq_mhz"] == 2133.0
    assert "11-26-2026" not in s.get("raw", "")


def test_a_board_without_a_total_rail_gets_no_power_figure():
    s = parse_line(XAVIER)
    assert "power_w" not in s  # never the sum of sub-rails
    assert s["rail_soc_w"] == 1.087 and s["rail_sys5v_w"] == 1.207
    assert "MTS" in s["raw"]


# TX1 on L4T R24 / R28.1, as published by users (issue 12); NVIDIA's R28 guide documents the
# `CPU [X%,Y%, , ]@Z` layout (one frequency for all cores).
TX1_R28 = ("RAM 1203/3995MB (lfb 395x4MB) cpu [17%,13%,29%,5%]@408 EMC 1%@408 AVP 0%@80 NVDEC 0 MSENC 0 "
           "GR3D 3%@76 EDP limit 1734")


LINES = [TX2, NANO, ORIN, XAVIER, TX1_R28]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LINES), st.integers(0, 400), st.integers(0, 400))
def test_truncated_lines_never_raise(line, start, length):
    assert isinstance(parse_line(line[start:start + length]), dict)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TX2.split() + ORIN.split() + ["@", "%@[", "/", "mW/", "1%@[,]", "x@C", "-"]),
                max_size=40))
def test_shuffled_tokens_never_raise(tokens):
    assert isinstance(parse_line(" ".join(tokens)), dict)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "°µ", max_size=300))
def test_random_text_never_raises(text):
    assert isinstance(parse_line(text), dict)



def test_the_oldest_tx1_format_gives_gpu_cpu_and_emc_load():
    s = parse_line(TX1_R28)
    assert s["gpu_util_percent"] == 3.0 and s["gpu_freq_mhz"] == 76.0
    assert s["cpu_util_percent"] == 16.0 and s["cpu_cores_online"] == 4 and s["cpu_freq_mhz"] == 408.0
    assert s["emc_util_percent"] == 1.0 and s["emc_freq_mhz"] == 408.0
    assert (s["ram_used_mb"], s["ram_total_mb"]) == (1203.0, 3995.0)
    assert "power_w" not in s and "EDP limit 1734" in s["raw"]
