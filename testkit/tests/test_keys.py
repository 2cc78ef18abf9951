"""keys.RedisKeys against Sources/BatonBroker/RedisKeys.swift: every key the
Swift type names must be spelt the same in Python, so that a change of key
shape there (a hash tag, a new key) fails here until the Python side follows."""

import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batontest.keys import RedisKeys  # noqa: E402
from batontest.paths import REPO  # noqa: E402

SWIFT = REPO / "Sources" / "BatonBroker" / "RedisKeys.swift"
# `public var name: String { "…" }` and `public func name(_ arg: String) -> String { "…" }`
VAR = re.compile(r'public var (\w+): String \{ "(.*)" \}')
FUNC = re.compile(r'public func (\w+)\(_ (\w+): String\) -> String \{ "(.*)" \}')


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class KeyShapes(unittest.TestCase):
    def setUp(self):
        self.source = SWIFT.read_text()
        self.keys = RedisKeys("ns-x")

    def test_every_swift_key_spelt_alike(self):
        found = 0
        for name, template in VAR.findall(self.source):
            with self.subTest(key=name):
                self.assertEqual(getattr(self.keys, snake(name)), template.replace(r"\(self.namespace)", "ns-x"))
                found += 1
        for name, arg, template in FUNC.findall(self.source):
            with self.subTest(key=name):
                expected = template.replace(r"\(self.namespace)", "ns-x").replace(rf"\({arg})", "id-7")
                self.assertEqual(getattr(self.keys, snake(name))("id-7"), expected)
                found += 1
        self.assertGreater(found, 25, "the Swift file's shape changed: these patterns no longer read it")

    def test_queue_by_priority(self):
        self.assertEqual(self.keys.queue("PRIORITY_HIGH"), "ns-x:queue:high")
        self.assertEqual(self.keys.queue("high"), "ns-x:queue:high")
        self.assertEqual(self.keys.queue("PRIORITY_NORMAL"), "ns-x:queue:normal")

    def test_scan_patterns(self):
        self.assertEqual(self.keys.worker_queue("*"), "ns-x:worker:*:queue")


if __name__ == "__main__":
    unittest.main()
