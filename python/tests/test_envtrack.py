"""The Python package against the real envtrack-inject, without the library loaded
(run with `python -m unittest discover -s python/tests` where envtrack is installed)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import stat
import subprocess
import sys
import tempfile
import unittest

import envtrack
import envtrack.ray


class Scratch(unittest.TestCase):
    """Each test starts from the environment it found, and a fresh envtrack.environ record."""

    def setUp(self) -> None:
        self.saved = dict(os.environb)
        envtrack.environ._before.clear()  # noqa: SLF001
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self) -> None:
        for name in [n for n in os.environb if n not in self.saved]:
            del os.environb[name]
        os.environb.update(self.saved)
        envtrack.environ._before.clear()  # noqa: SLF001
        self.dir.cleanup()


class DropIn(Scratch):
    def test_reads_and_writes_are_os_environs(self) -> None:
        env = envtrack.environ
        env["ET_A"] = "1"
        self.assertEqual(os.environ["ET_A"], "1")
        self.assertEqual(os.getenv("ET_A"), "1")
        os.environ["ET_B"] = "2"
        self.assertEqual(env["ET_B"], "2")
        self.assertIn("ET_B", env)
        self.assertEqual(len(env), len(os.environ))
        self.assertEqual(sorted(env), sorted(os.environ))
        self.assertEqual(env.get("ET_NONE", "d"), "d")
        self.assertEqual(env.setdefault("ET_A", "x"), "1")
        self.assertEqual(env.setdefault("ET_C", "3"), "3")
        self.assertEqual(env.pop("ET_C"), "3")
        self.assertNotIn("ET_C", os.environ)
        env.update({"ET_D": "4"}, ET_E="5")
        self.assertEqual((os.environ["ET_D"], os.environ["ET_E"]), ("4", "5"))
        self.assertEqual(env.copy(), dict(os.environ))
        self.assertIsInstance(env.copy(), dict)
        self.assertEqual((env | {"ET_F": "6"})["ET_F"], "6")
        self.assertNotIn("ET_F", os.environ)
        self.assertEqual(({"ET_A": "z"} | env)["ET_A"], "1")
        env |= {"ET_G": "7"}
        self.assertEqual(os.environ["ET_G"], "7")
        self.assertEqual(dict(env.items()), dict(os.environ.items()))
        self.assertTrue(repr(env).startswith("envtrack.environ({"))

    def test_errors_are_os_environs(self) -> None:
        env = envtrack.environ
        with self.assertRaises(KeyError):
            env["ET_MISSING"]
        with self.assertRaises(KeyError):
            del env["ET_MISSING"]
        for key, value in ((1, "x"), ("ET_X", 1), ("ET_X", None)):
            with self.assertRaises(TypeError):
                env[key] = value  # type: ignore[index,assignment]
        with self.assertRaises(ValueError):
            env["ET=X"] = "1"
        self.assertEqual(envtrack.environ._base_values(), {})  # noqa: SLF001 - nothing recorded

    def test_it_pickles_as_itself(self) -> None:
        self.assertIs(pickle.loads(pickle.dumps(envtrack.environ)), envtrack.environ)

    def test_clear_empties_the_environment(self) -> None:
        envtrack.environ.clear()
        self.assertEqual(dict(os.environ), {})


class TrackedWithoutTheLibrary(Scratch):
    def test_what_is_set_through_it_travels_and_os_environ_alone_does_not(self) -> None:
        os.environ["PATH"] = "/usr/bin:/bin"
        os.environ["ET_GONE"] = "x"
        envtrack.environ._before.clear()  # noqa: SLF001 - the values above are the base
        envtrack.environ["ET_SET"] = "it's \"quoted\", $(no shell) and spaces"
        envtrack.environ["PATH"] = "/opt/a:" + os.environ["PATH"] + ":/opt/z"
        del envtrack.environ["ET_GONE"]
        os.environ["ET_OS_ONLY"] = "not through envtrack.environ"
        tracked = envtrack.environ.tracked()
        self.assertEqual(tracked["ET_SET"], (envtrack.Directive("set", "ET_SET", os.environ["ET_SET"], ":"),))
        self.assertEqual(
            tracked["PATH"],
            (envtrack.Directive("prepend", "PATH", "/opt/a", ":"), envtrack.Directive("append", "PATH", "/opt/z", ":")),
        )
        self.assertEqual(tracked["ET_GONE"], (envtrack.Directive("unset", "ET_GONE", None, ":"),))
        self.assertNotIn("ET_OS_ONLY", tracked)
        self.assertEqual(envtrack.environ.directives, envtrack.Directives((), ()))

    def test_set_back_to_its_value_is_no_change(self) -> None:
        os.environ["ET_BACK"] = "1"
        envtrack.environ["ET_BACK"] = "2"
        envtrack.environ["ET_BACK"] = "1"
        self.assertNotIn("ET_BACK", envtrack.environ.tracked())

    def test_bytes_that_are_not_utf8_travel_exactly(self) -> None:
        value = os.fsdecode(b"\xff\xfe raw")
        envtrack.environ["ET_RAW"] = value
        self.assertEqual(envtrack.environ.tracked()["ET_RAW"][0].value, value)
        taken = envtrack.snapshot()
        target = os.path.join(self.dir.name, "snap.json")
        envtrack.export(target)
        del os.environ["ET_RAW"]
        envtrack.environ._before.clear()  # noqa: SLF001
        envtrack.apply(target)
        self.assertEqual(os.environb[b"ET_RAW"], b"\xff\xfe raw")
        self.assertEqual(taken["envtrack_snapshot"], 1)


class LongValues(Scratch):
    def test_a_value_too_long_for_one_environment_string_is_carried_without_the_library(self) -> None:
        os.environ["ET_GONE_LONG"] = "g" * 200_000
        envtrack.environ._before.clear()  # noqa: SLF001
        envtrack.environ["ET_LONG"] = "v" * 200_000
        del envtrack.environ["ET_GONE_LONG"]
        tracked = envtrack.environ.tracked()
        self.assertEqual(tracked["ET_LONG"], (envtrack.Directive("set", "ET_LONG", "v" * 200_000, ":"),))
        self.assertEqual(tracked["ET_GONE_LONG"], (envtrack.Directive("unset", "ET_GONE_LONG", None, ":"),))


    def test_any_long_value_in_the_environment_leaves_snapshot_and_apply_working(self) -> None:
        os.environ["ET_BIG_AROUND"] = "b" * 200_000
        for i in range(12):
            os.environ["ET_MANY_{}".format(i)] = "m" * 100_000
        envtrack.environ["ET_SMALL"] = "1"
        self.assertEqual(envtrack.environ.tracked()["ET_SMALL"][0].value, "1")
        changed = envtrack.apply({"envtrack_snapshot": 1, "tracked": [{"op": "set", "name": "ET_S", "value": "s"}], "job": [], "app": []})
        self.assertIn("ET_S", changed)
        self.assertEqual(os.environ["ET_BIG_AROUND"], "b" * 200_000)


class SnapshotExportApply(Scratch):
    def test_export_is_0600_json_and_apply_extends_this_nodes_lists(self) -> None:
        os.environ["PATH"] = "/usr/bin:/bin"
        envtrack.environ._before.clear()  # noqa: SLF001
        envtrack.environ["PATH"] = "/opt/tool/bin:/usr/bin:/bin"
        envtrack.environ["ET_NOTE"] = "a value"
        target = os.path.join(self.dir.name, "job.json")
        envtrack.export(target)
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
        with open(target) as f:
            self.assertEqual(json.load(f), envtrack.snapshot())

        # A worker node: its own PATH, nothing of the driver's.
        os.environ["PATH"] = "/node/bin:/usr/bin"
        del os.environ["ET_NOTE"]
        envtrack.environ._before.clear()  # noqa: SLF001
        changed = envtrack.apply(target)
        self.assertEqual(os.environ["PATH"], "/opt/tool/bin:/node/bin:/usr/bin")
        self.assertEqual(os.environ["ET_NOTE"], "a value")
        self.assertIn("ET_NOTE", changed)
        # Its children are tracked and pass the values on.
        out = subprocess.run([envtrack.injector(), "show"], stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertIn("+ET_NOTE", out)
        self.assertIn("~PATH prepend /opt/tool/bin", out)
        self.assertIn("libenvtrack.so", os.environ["LD_PRELOAD"])

    def test_export_makes_an_existing_file_0600_and_refuses_a_fifo_without_blocking(self) -> None:
        existing = os.path.join(self.dir.name, "old.json")
        with open(existing, "w") as f:
            f.write("x" * 10_000)
        os.chmod(existing, 0o644)
        envtrack.export(existing)
        self.assertEqual(stat.S_IMODE(os.stat(existing).st_mode), 0o600)
        with open(existing) as f:
            self.assertEqual(json.load(f)["envtrack_snapshot"], 1)
        fifo = os.path.join(self.dir.name, "fifo")
        os.mkfifo(fifo)
        with self.assertRaises(OSError) as raised:
            envtrack.export(fifo)
        self.assertIn("not a regular file", str(raised.exception))
        link = os.path.join(self.dir.name, "link")
        os.symlink(existing, link)
        with self.assertRaises(OSError):
            envtrack.export(link)

    def test_apply_takes_a_path_as_str_bytes_or_pathlike(self) -> None:
        import pathlib

        target = os.path.join(self.dir.name, "s.json")
        with open(target, "w") as f:
            json.dump({"envtrack_snapshot": 1, "tracked": [{"op": "set", "name": "ET_P", "value": "p"}], "job": [], "app": []}, f)
        for source in (target, os.fsencode(target), pathlib.Path(target)):
            os.environ.pop("ET_P", None)
            envtrack.apply(source)
            self.assertEqual(os.environ["ET_P"], "p")

    def test_apply_of_a_dict_and_a_malformed_snapshot(self) -> None:
        envtrack.apply({"envtrack_snapshot": 1, "tracked": [{"op": "set", "name": "ET_D", "value": "d"}], "job": [], "app": []})
        self.assertEqual(os.environ["ET_D"], "d")
        before = dict(os.environ)
        bad = os.path.join(self.dir.name, "bad.json")
        with open(bad, "w") as f:
            f.write('{"envtrack_snapshot": 1, "tracked": [{"op": "prepnd", "name": "X", "value": "1"}]}')
        with self.assertRaises(envtrack.EnvtrackError) as raised:
            envtrack.apply(bad)
        self.assertIn("prepnd", str(raised.exception))
        self.assertEqual(dict(os.environ), before)


class RayEnvVars(Scratch):
    @staticmethod
    def with_stderr(call, *args):
        """What ``call(*args)`` returns, and what it wrote on standard error."""
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            result = call(*args)
        return result, said.getvalue()

    def test_lists_refer_to_the_nodes_value_and_what_ray_would_alter_is_left_out(self) -> None:
        os.environ["PATH"] = "/usr/bin"
        os.environ["ET_GONE"] = "1"
        envtrack.environ._before.clear()  # noqa: SLF001
        envtrack.environ["PATH"] = "/opt/x:/usr/bin:/opt/y"
        envtrack.environ["ET_PLAIN"] = "say $(hello)"
        envtrack.environ["ET_DOLLAR"] = "costs $HOME"
        envtrack.environ["ET_SELF"] = "a${ET_SELF}b"
        envtrack.environ["my.setting"] = "a name Ray leaves alone in a set"
        del envtrack.environ["ET_GONE"]
        runtime, said = self.with_stderr(envtrack.ray.runtime_env, {"env_vars": {"ET_PLAIN": "mine"}, "pip": ["x"]})
        self.assertEqual(runtime["pip"], ["x"])
        self.assertEqual(
            runtime["env_vars"],
            {"PATH": "/opt/x:${PATH}:/opt/y", "ET_PLAIN": "mine", "my.setting": "a name Ray leaves alone in a set"},
        )
        self.assertEqual(said.count("envtrack:"), 1, said)
        for left_out in ("ET_DOLLAR (Ray would", "ET_SELF (Ray would", "ET_GONE (removed)"):
            self.assertIn(left_out, said)

    def test_what_depends_on_the_nodes_value_beyond_placing_it_is_named(self) -> None:
        snapshot = {
            "envtrack_snapshot": 1,
            "tracked": [{"op": "prepend", "name": "PATH", "value": "/opt/x"}],
            "job": [{"op": "remove", "name": "PATH", "value": "/usr/local/bin"}, {"op": "add", "name": "ET_ADD", "value": "a"}],
            "app": [{"op": "remove", "name": "ET_SET", "value": "z"}, {"op": "set", "name": "ET_SET", "value": "v"}],
        }
        env_vars, said = self.with_stderr(envtrack.ray.env_vars, snapshot)
        self.assertEqual(env_vars, {"ET_SET": "v"})
        self.assertIn("PATH (a removal from the node's value)", said)
        self.assertIn("ET_ADD (set only where the node lacks it)", said)

    def test_ld_preload_keeps_the_users_libraries_but_not_envtracks(self) -> None:
        os.environ.pop("LD_PRELOAD", None)
        tool = "/lib/x86_64-linux-gnu/libc.so.6"  # a library every process here can preload
        envtrack.environ["LD_PRELOAD"] = tool
        runtime, said = self.with_stderr(envtrack.ray.runtime_env)
        self.assertEqual(runtime["env_vars"], {"LD_PRELOAD": tool + ":${LD_PRELOAD}"})
        self.assertEqual(said, "")

    def test_a_list_change_to_a_name_ray_does_not_expand_is_left_out(self) -> None:
        os.environ["lower_path"] = "/a"
        envtrack.environ._before.clear()  # noqa: SLF001
        os.environ["ENVTRACK_LISTS"] = "lower_path"
        envtrack.environ["lower_path"] = "/b:/a"
        runtime, said = self.with_stderr(envtrack.ray.runtime_env)
        self.assertNotIn("lower_path", runtime["env_vars"])
        self.assertIn("lower_path (a name Ray does not expand)", said)


class Versions(unittest.TestCase):
    def test_version_and_the_injectors_agree(self) -> None:
        out = subprocess.run([envtrack.injector(), "--version"], stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertEqual(out.strip(), "envtrack-inject " + envtrack.__version__)


if __name__ == "__main__":
    unittest.main()
