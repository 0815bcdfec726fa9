#!/usr/bin/env python3
"""deploy/kubernetes/, the sharded `wvoice load` Job and what goes with it:

- every manifest against the Kubernetes API's own types: Debian's
  python3-kubernetes (the API's generated models, 1.22's) gives each
  object's fields and their types; a field the type does not have (a typo,
  a misplaced key) or a value of the wrong type fails, and so does a
  required field left out (the models refuse to be built without it) and
  a value outside the enumerations these manifests use;
- the Job's essentials: Indexed, completions == parallelism == SHARDS, the
  shard argument and the report's name from the completion index, no
  retry of a shard, the API key from a Secret and nowhere in plain text,
  every $(VAR) defined, the reports on a ReadWriteMany volume that the
  merge Job and the fetch pod mount too, with the same RUN and SHARDS;
- kustomization.yaml builds (kubectl kustomize, where kubectl is);
- the Job's and the merge Job's commands as written, run here: SHARDS
  processes of wvoice load against wvoice serve on 127.0.0.1, each with its
  JOB_COMPLETION_INDEX, then the merge script over their reports; the
  merged report counts every call once. Skipped while this wvoice has no
  `load`.

Needs PyYAML and the kubernetes package (scripts/install-deps.sh installs
python3-kubernetes, which brings python3-yaml): when the interpreter
running it has neither, it runs itself again under Debian's
/usr/bin/python3, and is skipped if that has them neither.

Run: python3 test_deploy_manifests.py [path/to/wvoice]  (or WVOICE_BIN=...)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "deploy", "kubernetes")
SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import yaml
    import kubernetes.client as kc
except ImportError:
    if (os.path.exists(SYSTEM_PYTHON) and
            os.path.realpath(sys.executable) !=
            os.path.realpath(SYSTEM_PYTHON) and
            not os.environ.get("WV_DEPLOY_REEXEC")):
        os.environ["WV_DEPLOY_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    yaml = kc = None

MODELS = {
    ("batch/v1", "Job"): "V1Job",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("v1", "Pod"): "V1Pod",
}
MANIFESTS = ["job.yaml", "merge-job.yaml", "reports-pvc.yaml",
             "fetch-pod.yaml"]


def binary():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    return os.path.abspath(os.environ.get("WVOICE_BIN") or
                           os.path.join(HERE, "..", "..", "build", "wvoice"))


def load(name):
    with open(os.path.join(DEPLOY, name)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    assert len(docs) == 1, "%s: one object expected" % name
    return docs[0]


class SchemaError(Exception):
    pass


def build(value, typ, path):
    """value (parsed YAML) as the API type typ ('V1Job', 'list[V1Volume]',
    'dict(str, str)', 'int'...): the model built from it, or SchemaError
    naming the path of the first field that does not fit."""
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            raise SchemaError("%s: a list expected" % path)
        return [build(v, m.group(1), "%s[%d]" % (path, i))
                for i, v in enumerate(value)]
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            raise SchemaError("%s: a map expected" % path)
        return {k: build(v, m.group(1), "%s.%s" % (path, k))
                for k, v in value.items()}
    simple = {"str": str, "bool": bool, "float": (int, float),
              "datetime": str, "date": str}
    if typ == "object":
        return value
    if typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError("%s: an integer expected, not %r" %
                              (path, value))
        return value
    if typ in simple:
        if not isinstance(value, simple[typ]) or (
                typ != "bool" and isinstance(value, bool)):
            raise SchemaError("%s: %s expected, not %r" % (path, typ, value))
        return value
    cls = getattr(kc, typ)
    if not isinstance(value, dict):
        raise SchemaError("%s: a %s (a map) expected" % (path, typ))
    fields = {json: attr for attr, json in cls.attribute_map.items()}
    kwargs = {}
    for k, v in value.items():
        if k not in fields:
            raise SchemaError("%s: %s has no field %r" % (path, typ, k))
        kwargs[fields[k]] = build(v, cls.openapi_types[fields[k]],
                                  "%s.%s" % (path, k))
    try:
        return cls(**kwargs)
    except ValueError as e:  # a required field is missing
        raise SchemaError("%s: %s" % (path, e)) from None


# The API's enumerations that the models leave as plain strings, for the
# fields these manifests use: a field's name, its allowed values.
ENUMS = {
    "completionMode": {"Indexed", "NonIndexed"},
    "restartPolicy": {"Always", "OnFailure", "Never"},
    "imagePullPolicy": {"Always", "IfNotPresent", "Never"},
    "accessModes": {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
                    "ReadWriteOncePod"},
    "whenUnsatisfiable": {"DoNotSchedule", "ScheduleAnyway"},
    "type": {"RuntimeDefault", "Localhost", "Unconfined"},  # seccompProfile
}


def check_enums(value, path):
    if isinstance(value, list):
        for i, v in enumerate(value):
            check_enums(v, "%s[%d]" % (path, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            here = "%s.%s" % (path, k)
            if k in ENUMS and not (k == "type" and
                                   not path.endswith("seccompProfile")):
                for x in v if isinstance(v, list) else [v]:
                    if x not in ENUMS[k]:
                        raise SchemaError("%s: %r is not one of %s" % (
                            here, x, ", ".join(sorted(ENUMS[k]))))
            check_enums(v, here)


def validate(doc, name):
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in MODELS:
        raise SchemaError("%s: no model for %s %s" % ((name,) + key))
    build(doc, MODELS[key], name)
    check_enums(doc, name)


def container(doc):
    cs = doc["spec"]["template"]["spec"]["containers"] \
        if doc["kind"] == "Job" else doc["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def env_value(c, name):
    return env_of(c)[name]["value"]


@unittest.skipIf(yaml is None or kc is None,
                 "PyYAML and python3-kubernetes not installed "
                 "(scripts/install-deps.sh)")
class Manifests(unittest.TestCase):
    def test_every_manifest_fits_the_api_types(self):
        for name in MANIFESTS:
            with self.subTest(name=name):
                validate(load(name), name)

    def test_the_validation_catches_what_it_should(self):
        job = load("job.yaml")
        job["spec"]["completion"] = 4  # a typo of completions
        with self.assertRaisesRegex(SchemaError, "no field 'completion'"):
            validate(job, "job.yaml")
        job = load("job.yaml")
        job["spec"]["parallelism"] = "4"
        with self.assertRaisesRegex(SchemaError, "parallelism: an integer"):
            validate(job, "job.yaml")
        job = load("job.yaml")
        job["spec"]["template"]["spec"]["restartPolicy"] = "never"
        with self.assertRaisesRegex(SchemaError, "restartPolicy: 'never'"):
            validate(job, "job.yaml")
        job = load("job.yaml")
        del container(job)["name"]
        with self.assertRaisesRegex(SchemaError, "name"):
            validate(job, "job.yaml")

    def test_job_is_indexed_with_one_pod_a_shard(self):
        job = load("job.yaml")
        spec = job["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        shards = int(env_value(container(job), "SHARDS"))
        self.assertGreater(shards, 0)
        self.assertEqual(spec["completions"], shards)
        self.assertEqual(spec["parallelism"], shards)
        self.assertEqual(spec["backoffLimit"], 0)
        self.assertEqual(spec["template"]["spec"]["restartPolicy"], "Never")

    def test_shard_and_report_come_from_the_completion_index(self):
        c = container(load("job.yaml"))
        args = c["command"] + c["args"]
        self.assertEqual(args[:2], ["wvoice", "load"])
        self.assertEqual(args[args.index("--shard") + 1],
                         "$(JOB_COMPLETION_INDEX)/$(SHARDS)")
        self.assertEqual(args[args.index("--report") + 1],
                         "/reports/shard-$(JOB_COMPLETION_INDEX).json")
        idx = env_of(c)["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]
        self.assertEqual(
            idx["fieldPath"],
            "metadata.annotations['batch.kubernetes.io/job-completion-index']")

    def test_every_variable_used_is_defined(self):
        for name in ("job.yaml", "merge-job.yaml"):
            c = container(load(name))
            env = env_of(c)
            used = " ".join(c.get("command", []) + c.get("args", []) +
                            [m.get("subPathExpr", "")
                             for m in c.get("volumeMounts", [])])
            for var in re.findall(r"\$\((\w+)\)", used):
                with self.subTest(name=name, var=var):
                    self.assertIn(var, env)

    def test_api_key_comes_from_a_secret_and_nowhere_else(self):
        c = container(load("job.yaml"))
        key = env_of(c)["WVOICE_API_KEY"]
        self.assertNotIn("value", key)
        ref = key["valueFrom"]["secretKeyRef"]
        self.assertTrue(ref["name"] and ref["key"])
        self.assertNotIn("--api-key", c["args"])
        for name in MANIFESTS + ["kustomization.yaml"]:
            doc = load(name)
            self.assertNotEqual(doc.get("kind"), "Secret", name)
            if name.endswith("job.yaml"):
                for e in container(doc).get("env", []):
                    if re.search(r"KEY|TOKEN|SECRET|PASSWORD", e["name"]):
                        self.assertNotIn("value", e, name)

    def test_reports_volume_is_shared_by_the_shards_merge_and_fetch(self):
        pvc = load("reports-pvc.yaml")
        self.assertIn("ReadWriteMany", pvc["spec"]["accessModes"])
        job, merge = load("job.yaml"), load("merge-job.yaml")
        for doc in (job, merge, load("fetch-pod.yaml")):
            spec = doc["spec"]["template"]["spec"] \
                if doc["kind"] == "Job" else doc["spec"]
            claims = [v["persistentVolumeClaim"]["claimName"]
                      for v in spec["volumes"]
                      if "persistentVolumeClaim" in v]
            self.assertEqual(claims, [pvc["metadata"]["name"]])
        for var in ("RUN", "SHARDS"):
            self.assertEqual(env_value(container(job), var),
                             env_value(container(merge), var))
        self.assertIn("wvoice load merge shard-*.json",
                      container(merge)["args"][0])

    def test_kustomization_builds(self):
        kust = load("kustomization.yaml")
        for r in kust["resources"]:
            self.assertTrue(os.path.exists(os.path.join(DEPLOY, r)), r)
        if not shutil.which("kubectl"):
            self.skipTest("kubectl not installed")
        p = subprocess.run(["kubectl", "kustomize", DEPLOY],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        kinds = [d["kind"] for d in yaml.safe_load_all(p.stdout) if d]
        self.assertEqual(sorted(kinds), ["Job", "PersistentVolumeClaim"])


def has_load(wvoice):
    try:
        p = subprocess.run([wvoice, "load", "--help"], capture_output=True,
                           text=True, timeout=10)
    except OSError:
        return False
    return p.returncode == 0 and "--shard" in p.stdout + p.stderr


def expand(words, env):
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], w)
            for w in words]


@unittest.skipIf(yaml is None or kc is None, "PyYAML not installed")
class ShardsRunHere(unittest.TestCase):
    """The Job's and the merge Job's commands, as written, on this machine:
    a process a pod, a folder for the volume."""

    def setUp(self):
        self.wvoice = binary()
        if not has_load(self.wvoice):
            self.skipTest("%s has no `wvoice load --shard`" % self.wvoice)

    def test_shards_then_merge_count_every_call_once(self):
        job, merge = load("job.yaml"), load("merge-job.yaml")
        shards, calls = 3, 6
        key = "test-deploy-key"
        with tempfile.TemporaryDirectory() as tmp:
            bindir = os.path.join(tmp, "bin")
            os.mkdir(bindir)
            os.symlink(self.wvoice, os.path.join(bindir, "wvoice"))
            path = bindir + os.pathsep + os.environ.get("PATH", "")
            server = subprocess.Popen(
                [self.wvoice, "serve", "--port", "0", "--api-key", key,
                 "--quiet"], stdout=subprocess.PIPE, text=True)
            try:
                url = None
                deadline = time.monotonic() + 15
                while url is None and time.monotonic() < deadline:
                    m = re.search(r"listening on (\S+)",
                                  server.stdout.readline())
                    url = m and m.group(1)
                self.assertTrue(url, "wvoice serve did not start")
                reports = os.path.join(tmp, "run")
                os.mkdir(reports)
                c = container(job)
                base = {"SHARDS": str(shards), "RUN": "run", "URL": url,
                        "AGENT": "silent", "CALLS": str(calls),
                        "RATE": "6", "DURATION": "2"}
                procs = []
                for i in range(shards):
                    env = dict(base, JOB_COMPLETION_INDEX=str(i))
                    argv = expand(c["command"] + c["args"], env)
                    argv = [a.replace("/reports", reports) for a in argv]
                    procs.append(subprocess.Popen(
                        argv, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True,
                        env=dict(os.environ, PATH=path,
                                 WVOICE_API_KEY=key)))
                for p in procs:
                    _, err = p.communicate(timeout=60)
                    self.assertEqual(p.returncode, 0, err)
                    self.assertNotIn(key, err)
                m = container(merge)
                script = m["args"][0].replace("/reports", reports)
                p = subprocess.run(
                    m["command"] + [script], capture_output=True, text=True,
                    timeout=60, env=dict(os.environ, PATH=path,
                                         SHARDS=str(shards), RUN="run"))
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(os.path.join(reports, "all.json")) as f:
                    counts = json.load(f)["counts"]
                self.assertEqual(counts["calls_planned"], calls)
                self.assertEqual(counts["calls_completed"], calls)
                self.assertEqual(counts["calls_failed"], 0)
                self.assertTrue(os.path.getsize(
                    os.path.join(reports, "all.html")) > 0)
            finally:
                server.terminate()
                server.wait(20)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
