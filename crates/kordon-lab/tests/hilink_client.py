"""Drives a HiLink emulator with the huawei-lte-api client: argv[1] is its URL.

Exits 0 and prints "ok" when the client could open a session, read signal, status and PLMN,
toggle mobile data, reconnect and change the network mode.
"""
import sys
import time

from huawei_lte_api.Client import Client
from huawei_lte_api.Connection import Connection
from huawei_lte_api.enums.net import NetworkModeEnum


def wait_status(client, code, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = client.monitoring.status()
        if status["ConnectionStatus"] == code:
            return status
        time.sleep(0.05)
    raise AssertionError(f"ConnectionStatus never became {code}: {status}")


with Connection(sys.argv[1], timeout=5) as connection:
    client = Client(connection)

    signal = client.device.signal()
    assert signal["rsrp"] == "-93dBm", signal
    assert signal["rsrq"] == "-11.0dB", signal

    status = wait_status(client, "901")
    assert status["SignalIcon"] == "4", status
    assert status["CurrentNetworkType"] == "19", status
    first_ip = status["WanIPAddress"]

    plmn = client.net.current_plmn()
    assert plmn["FullName"] == "MegaFon RUS" and plmn["Numeric"] == "25002", plmn

    assert client.dial_up.mobile_dataswitch()["dataswitch"] == "1"
    assert client.dial_up.set_mobile_dataswitch(0) == "OK"
    status = wait_status(client, "902")
    assert status["WanIPAddress"] is None, status
    assert client.dial_up.mobile_dataswitch()["dataswitch"] == "0"
    assert client.dial_up.set_mobile_dataswitch(1) == "OK"
    second_ip = wait_status(client, "901")["WanIPAddress"]
    assert second_ip != first_ip, (first_ip, second_ip)

    assert client.net.reconnect() == "OK"
    time.sleep(0.05)
    third_ip = wait_status(client, "901")["WanIPAddress"]
    assert third_ip != second_ip, (second_ip, third_ip)

    assert client.net.set_net_mode("800C5", "3FFFFFFF", NetworkModeEnum.MODE_3G_ONLY) == "OK"
    assert client.net.net_mode()["NetworkMode"] == "02"
    time.sleep(0.05)
    assert wait_status(client, "901")["CurrentNetworkType"] == "4"

    dhcp = client.dhcp.settings()
    assert dhcp["DhcpIPAddress"] == "192.168.8.1", dhcp

print("ok")
