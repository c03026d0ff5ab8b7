"""A minimal jtop.service for the REAL jetson-stats 4.3 client (tests/unit/test_jtop_real_client.py).

`python jtop-service.py SOCKET INTERVAL`, run with the real jetson-stats importable (not tests/fakes).
It speaks the real service's protocol (jtop/service.py): a JtopManager on a unix socket serving
get_queue, sync_data and sync_event; it answers the client's {'interval': ...} with {'init': ...}
and publishes a data set every INTERVAL seconds. The data is the jtop stand-in's TX2
(tests/fakes/jtop), so the real client and the stand-in can be compared. Killing this process is
a jtop.service restart as the client sees it.
"""
import importlib.util
import os
import queue
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]  # the real jtop, not the stand-in next door
import jtop.service as service  # noqa: E402

sock, interval = sys.argv[1], float(sys.argv[2])
if os.path.exists(sock):
    os.remove(sock)  # as the real service does with a stale socket (service.py, JTOP_PIPE)
service.JTOP_PIPE = sock
spec = importlib.util.spec_from_file_location("tx2_shapes", os.path.join(HERE, "jtop", "__init__.py"))
shapes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shapes)
board = shapes.jtop(interval)
commands, data, event = queue.Queue(), {}, threading.Event()
service.JtopManager.register("get_queue", callable=lambda: commands)
service.JtopManager.register("sync_data", callable=lambda: data)
service.JtopManager.register("sync_event", callable=lambda: event)
server = service.JtopManager().get_server()
threading.Thread(target=server.serve_forever, daemon=True).start()


def control():
    while True:
        message = commands.get()
        if "init" in message:  # the client's own queue: put it back, as the real service does
            commands.put(message)
            time.sleep(0.01)
        elif "interval" in message:
            commands.put({"init": {"version": "4.3.2", "board": {"hardware": board.board["hardware"]},
                                   "interval": interval, "memory": {}, "fan": {}, "jc": True,
                                   "nvpmodel": {"models": shapes._TX2_NVPMODEL["models"],
                                                "default": shapes._TX2_NVPMODEL["default"]}}})


threading.Thread(target=control, daemon=True).start()
print("ready", flush=True)
while True:
    data.update({"uptime": 100.0, "cpu": {"cpu": []}, "gpu": board.gpu, "mem": board.memory, "fan": {},
                 "power": board.power, "temperature": board.temperature, "engines": {}, "processes": [],
                 "jc": {"enable": True, "thread": "", "config": False, "boot": False}, "nvp": shapes._service.nvp()})
    event.set()
    time.sleep(interval)
