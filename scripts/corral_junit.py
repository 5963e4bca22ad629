"""JUnit XML for CI servers (GitLab, Jenkins and GitHub's test reporters):
`make test` writes build/test-results.xml and `make stress`
build/stress-results.xml, one <testcase> per host test, driver test, ktest
and stress row, read from the output and serial logs the runs leave anyway.
A failed case carries its reason and, where there is one, the tail of its
serial log."""
import os
import re
import xml.etree.ElementTree as ET
from typing import List, Optional

LOG_TAIL_LINES = 80           # of a failed case's serial log, in its <system-out>

CTEST_RE = re.compile(r"Test +#\d+: (\S+)(?: +#[^.]*)? \.+\**\s*(Passed|\*\*\*Failed|Failed|\*\*\*Not Run|Not Run)"
                      r"[^\d]*([\d.]+) sec")
UNITTEST_HEAD_RE = re.compile(r"^(test\w*) \(([\w.]+)\)", re.M)
# Its result: after " ... " on the same line, or alone on a later one (a
# warning the test printed may come between).
UNITTEST_RESULT_RE = re.compile(r"(?:\.\.\. |^)(ok|FAIL|ERROR|skipped(?: '(.*)')?|expected failure|unexpected success)\s*$",
                                re.M)
KTEST_RE = re.compile(r"^\[ (PASS|FAIL|SKIP) \] (\S+?)(?::\s*(.*))?$", re.M)
BOOT_RE = re.compile(r"^(PASS|FAIL) (smp\S+?)(?::| \()(.*)$", re.M)
STRESS_RE = re.compile(r"^(PASS|FAIL) stress (\S+) \((\w+)[^)]*?([\d.]+) s\)(.*?)(?:  log: (\S+))?$", re.M)


class Case:
    def __init__(self, suite: str, name: str, outcome: str, message: str = "", seconds: float = 0.0,
                 log: Optional[str] = None):
        self.suite, self.name, self.outcome, self.message = suite, name, outcome, message
        self.seconds, self.log = seconds, log    # outcome: pass | fail | skip


def ctest_cases(text: str) -> List[Case]:
    out = []
    for name, result, seconds in CTEST_RE.findall(text):
        outcome = "pass" if result == "Passed" else "skip" if "Not Run" in result else "fail"
        out.append(Case("host", name, outcome, "" if outcome == "pass" else result.strip("*"), float(seconds)))
    return out


def unittest_cases(text: str, suite: str) -> List[Case]:
    """unittest -v lines: `test_x (module.Class.test_x) ... ok`."""
    out = []
    heads = list(UNITTEST_HEAD_RE.finditer(text))
    for i, m in enumerate(heads):
        name, where = m.group(1), m.group(2)
        body = text[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        r = UNITTEST_RESULT_RE.search(body)
        result, why = (r.group(1), r.group(2)) if r else ("ERROR", "no result line")
        cls = where[: -len(name) - 1] if where.endswith("." + name) else where
        outcome = {"ok": "pass", "expected failure": "pass"}.get(result, "skip" if result.startswith("skipped")
                                                                  else "fail")
        out.append(Case(f"{suite}.{cls}", name, outcome, why or ("" if outcome == "pass" else result)))
    return out


def ktest_cases(boot_output: str, logs_dir: str) -> List[Case]:
    """The ktest matrix: each boot's [ PASS ] / [ FAIL ] / [ SKIP ] lines from
    its serial log; a boot whose log has none is one case of its own."""
    out = []
    for verdict, boot, rest in BOOT_RE.findall(boot_output):
        log = os.path.join(logs_dir, boot + ".log")
        try:
            with open(log, errors="replace") as f:
                serial = f.read()
        except OSError:
            serial = ""
        cases = [Case(f"ktest.{boot}", name, {"PASS": "pass", "FAIL": "fail", "SKIP": "skip"}[v], why or "",
                      log=log if v == "FAIL" else None)
                 for v, name, why in KTEST_RE.findall(serial)]
        if verdict == "FAIL" and not any(c.outcome == "fail" for c in cases):
            cases.append(Case(f"ktest.{boot}", "boot", "fail", rest.strip(" :"), log=log))
        out.extend(cases)
    return out


def stress_cases(text: str, root: str) -> List[Case]:
    out = []
    for verdict, name, kind, seconds, rest, log in STRESS_RE.findall(text):
        message = rest.strip(" :") if verdict == "FAIL" else ""
        out.append(Case(f"stress.{kind}", name, "pass" if verdict == "PASS" else "fail", message, float(seconds),
                        os.path.join(root, log) if log else None))
    return out


def _log_tail(path: Optional[str]) -> str:
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join([f"== the last {min(len(lines), LOG_TAIL_LINES)} lines of {path} =="] + lines[-LOG_TAIL_LINES:])


def to_xml(cases: List[Case], name: str) -> ET.ElementTree:
    top = ET.Element("testsuites", name=name)
    suites = {}
    for c in cases:
        if c.suite not in suites:
            suites[c.suite] = ET.SubElement(top, "testsuite", name=c.suite)
        s = suites[c.suite]
        tc = ET.SubElement(s, "testcase", classname=c.suite, name=c.name, time=f"{c.seconds:.3f}")
        if c.outcome == "fail":
            ET.SubElement(tc, "failure", message=c.message[:500] or "failed").text = c.message
            if c.log:
                ET.SubElement(tc, "system-out").text = _log_tail(c.log)
        elif c.outcome == "skip":
            ET.SubElement(tc, "skipped", message=c.message[:500])
    for s in top:
        s.set("tests", str(len(s)))
        s.set("failures", str(sum(1 for tc in s if tc.find("failure") is not None)))
        s.set("skipped", str(sum(1 for tc in s if tc.find("skipped") is not None)))
    for key in ("tests", "failures", "skipped"):
        top.set(key, str(sum(int(s.get(key)) for s in top)))
    return ET.ElementTree(top)


def write(cases: List[Case], path: str, name: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tree = to_xml(cases, name)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
