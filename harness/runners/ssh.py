"""ssh:// engines: a bounded reachability check, and paramiko's failures as one line naming the host
and the command that fixes it (docker-py raises them raw, outside DockerException)."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import paramiko

# what an ssh:// engine's requests raise besides DockerException when the link fails or drops
SSH_ERRORS = (paramiko.SSHException, EOFError, OSError)


class Destination:
    def __init__(self, url: str):
        parsed = urlparse(url)
        self.host = parsed.hostname or "?"
        self.port = parsed.port or 22
        self.login = f"{parsed.username}@{self.host}" if parsed.username else self.host
        self.port_option = f" -p {self.port}" if self.port != 22 else ""


def check_reachable(url: str, timeout_s: float) -> None:
    """A TCP connection to the ssh port within timeout_s: paramiko itself has no connect timeout, so an
    unreachable device would otherwise stall for the kernel's two minutes of SYN retries."""
    where = Destination(url)
    try:
        socket.create_connection((where.host, where.port), timeout=timeout_s).close()
    except OSError as error:
        raise ConnectionError(describe(error, url, timeout_s)) from None


def describe(error: BaseException, url: str, timeout_s: float | None = None) -> str:
    """One line: what failed on which host, and the fix."""
    where = Destination(url)
    text = str(error) or type(error).__name__
    if isinstance(error, paramiko.BadHostKeyException):
        return (f"the ssh host key of {where.host} differs from the one in ~/.ssh/known_hosts (a reinstalled "
                f"device, or someone in between); once you trust the new key: ssh-keygen -R {where.host} && "
                f"ssh-keyscan{where.port_option} {where.host} >> ~/.ssh/known_hosts")
    if isinstance(error, paramiko.AuthenticationException):
        return (f"{where.login} refused the ssh keys offered ({text}); install yours with: "
                f"ssh-copy-id{where.port_option} {where.login}, or name the key with IdentityFile in ~/.ssh/config")
    if isinstance(error, paramiko.ChannelException):
        return (f"sshd on {where.host} refused another session ({text}): docker opens more than sshd's default "
                f"MaxSessions 10; set MaxSessions 64 in /etc/ssh/sshd_config on the device and restart sshd")
    if isinstance(error, paramiko.SSHException) and "known_hosts" in text:
        return (f"{where.host}'s ssh host key is not in ~/.ssh/known_hosts; check it, then add it with: "
                f"ssh-keyscan{where.port_option} {where.host} >> ~/.ssh/known_hosts")
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host name {where.host} ({text}): check docker_host, or add it to /etc/hosts"
    if isinstance(error, (TimeoutError, socket.timeout)):
        waited = f" within {timeout_s:g} s" if timeout_s else ""
        return f"{where.host}:{where.port} did not answer{waited}: is the device on, and on this network?"
    if isinstance(error, (ConnectionRefusedError, paramiko.ssh_exception.NoValidConnectionsError)):
        return (f"nothing accepts ssh connections at {where.host}:{where.port} (connection refused): "
                f"is sshd running on the device?")
    return (f"the ssh link to {where.host}:{where.port} failed or dropped ({type(error).__name__}: {text}): "
            f"is the device on, and sshd running?")
