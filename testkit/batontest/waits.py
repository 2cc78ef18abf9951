"""Waiting with a deadline: for a condition, a port, an HTTP answer.

Every harness waits for servers that start, faults that heal and tasks that
finish; one polling loop with a monotonic deadline keeps the timeouts honest
(a wall-clock jump, as the chaos suite's skewed clocks make, does not move
them) and the messages alike."""

import socket
import time
import urllib.error
import urllib.request


class Deadline:
    """A point `seconds` from now on the monotonic clock."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def passed(self):
        return time.monotonic() >= self.end


def wait_until(predicate, seconds, interval=0.2, errors=(Exception,)):
    """Polls predicate() until it returns something truthy and returns that,
    or None at the deadline. An exception in `errors` counts as "not yet"
    (a server still starting, a fault in progress)."""
    deadline = Deadline(seconds)
    while True:
        try:
            value = predicate()
        except errors:
            value = None
        if value:
            return value
        if deadline.passed():
            return None
        time.sleep(min(interval, max(0.01, deadline.left())))


def wait_for(predicate, seconds, what, interval=0.2, errors=(Exception,)):
    """wait_until, raising TimeoutError("<what> not within <seconds> s") at the deadline."""
    value = wait_until(predicate, seconds, interval, errors)
    if not value:
        raise TimeoutError(f"{what} not within {seconds:g} s")
    return value


def port_free(port, host="127.0.0.1"):
    """Whether a server could bind `port` now (nothing else listens there)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def port_answers(port, host="127.0.0.1", timeout=1.0):
    """Whether something accepts a TCP connection on `port`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url, timeout=1.0):
    """The HTTP status a GET of `url` answers, or None when nothing answers
    (an error status is an answer: its code)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception:
        return None


def http_ok(url, timeout=1.0):
    """Whether a GET of `url` answers 200."""
    return http_status(url, timeout) == 200


def wait_port(port, seconds, host="127.0.0.1"):
    """Until `port` accepts connections; TimeoutError otherwise."""
    return wait_for(lambda: port_answers(port, host), seconds, f"a server on {host}:{port}", interval=0.1)


def wait_http(url, seconds, status=200):
    """Until a GET of `url` answers `status`; TimeoutError otherwise."""
    return wait_for(lambda: http_status(url) == status, seconds, f"HTTP {status} from {url}", interval=0.1)
