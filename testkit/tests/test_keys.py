"""keys.RedisKeys against Sources/BatonBroker/RedisKeys.swift: every key the
Swift type names must be spelt the same in Python, so that a change of key
shape there (the hash tag, a new key) fails here until the Python side follows."""

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
# `self.prefix = "{\(namespace)}"`: what `\(self.prefix)` stands for in the templates.
PREFIX = re.compile(r'self\.prefix = "(.*)"')


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class KeyShapes(unittest.TestCase):
    def setUp(self):
        self.source = SWIFT.read_text()
        self.keys = RedisKeys("ns-x")
        prefixes = PREFIX.findall(self.source)
        self.assertEqual(len(prefixes), 1, "the Swift file's shape changed: its prefix is no longer read")
        self.prefix = prefixes[0].replace(r"\(namespace)", "ns-x")

    def swift(self, template):
        return template.replace(r"\(self.prefix)", self.prefix).replace(r"\(self.namespace)", "ns-x")

    def test_every_swift_key_spelt_alike(self):
        found = 0
        for name, template in VAR.findall(self.source):
            with self.subTest(key=name):
                self.assertEqual(getattr(self.keys, snake(name)), self.swift(template))
                found += 1
        for name, arg, template in FUNC.findall(self.source):
            with self.subTest(key=name):
                expected = self.swift(template).replace(rf"\({arg})", "id-7")
                self.assertEqual(getattr(self.keys, snake(name))("id-7"), expected)
                found += 1
        self.assertGreater(found, 25, "the Swift file's shape changed: these patterns no longer read it")

    def test_every_key_under_the_namespace_hash_tag(self):
        # A Redis Cluster hashes the part between the first `{` and the next
        # `}`: every key of a namespace must have that part be the namespace,
        # so they all share one slot.
        self.assertEqual(self.prefix, "{ns-x}")
        # The one pattern outside the tag on purpose: the keys of a release
        # before it, which a node refuses to start beside.
        names = [snake(n) for n, _ in VAR.findall(self.source) if n != "untaggedPattern"]
        funcs = [snake(n) for n, _, _ in FUNC.findall(self.source)]
        keys = [getattr(self.keys, n) for n in names] + [getattr(self.keys, n)("id-7") for n in funcs]
        for key in keys:
            with self.subTest(key=key):
                self.assertTrue(key.startswith("{ns-x}:"))
                self.assertEqual(key[key.index("{") + 1:key.index("}")], "ns-x")

    def test_queue_by_priority(self):
        self.assertEqual(self.keys.queue("PRIORITY_HIGH"), "{ns-x}:queue:high")
        self.assertEqual(self.keys.queue("high"), "{ns-x}:queue:high")
        self.assertEqual(self.keys.queue("PRIORITY_NORMAL"), "{ns-x}:queue:normal")

    def test_scan_patterns(self):
        self.assertEqual(self.keys.worker_queue("*"), "{ns-x}:worker:*:queue")


if __name__ == "__main__":
    unittest.main()
