"""A connection handed to another process's inbox keeps its bytes and stays open.

Real sockets end to end: a client connects over TCP, the "launcher" reads the request line and
hands the socket over, then closes its own descriptor; the receiving side answers on it.
"""

import asyncio
import socket

from runner.handover import HandedOver, HandoverInbox, connect_inbox, send_connection


async def test_a_handed_over_connection_carries_its_first_bytes_and_outlives_the_sender(tmp_path):
    uds = str(tmp_path / "worker.sock")
    got: asyncio.Queue[HandedOver] = asyncio.Queue()
    inbox = HandoverInbox(f"{uds}.in", got.put_nowait)
    inbox.open()
    front = socket.create_server(("127.0.0.1", 0))
    port = front.getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /twilio/media/call_1 HTTP/1.1\r\nHost: x\r\n\r\nrest")
    await writer.drain()

    accepted, _ = await asyncio.to_thread(front.accept)
    head = await asyncio.to_thread(accepted.recv, 1024)
    chan = await asyncio.to_thread(connect_inbox, uds)
    await asyncio.sleep(0.05)  # the inbox accepts the channel on the loop
    send_connection(chan, accepted.fileno(), "call_1", head)
    accepted.close()  # the sender lets go: the connection must stay open

    item = await asyncio.wait_for(got.get(), 5)
    assert item.call_id == "call_1" and item.head.startswith(b"GET /twilio/media/call_1 ")
    assert item.head.endswith(b"rest")  # everything the sender read travels with the socket
    item.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    assert await asyncio.wait_for(reader.readline(), 5) == b"HTTP/1.1 101 Switching Protocols\r\n"
    item.sock.close()
    assert await asyncio.wait_for(reader.read(), 5) == b"\r\n"  # then EOF: closed by the receiver
    writer.close()
    chan.close()
    front.close()
    inbox.close()
