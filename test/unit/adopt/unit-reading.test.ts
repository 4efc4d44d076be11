// Reading a unit for `agent adopt`: systemctl show / busctl text captured from systemd 252 on this
// machine, gunicorn's command line and config file, and writing ExecStart=/Environment= back.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: systemd's own ${VAR} syntax, literally.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  baseUrlFromBind,
  environmentLine,
  execStartLine,
  gunicornSettings,
  parseExecStartJson,
  parseUnitShow,
  readGunicornArgv,
  readGunicornConfig,
  rewritePathPrefix,
  unitObjectPath,
} from "../../../src/adopt/unit-reading.js";

// --- Captured on systemd 252 (Debian 12): `systemctl show --no-pager -p <SHOW_PROPERTIES> UNIT`
// and `busctl --json=short get-property ... ExecStart`. shop.service was:
//   WorkingDirectory=-/opt/shop
//   Environment="DJANGO_SETTINGS_MODULE=shop.settings" "GREETING=hello world" WEB_CONCURRENCY=3
//   Environment=PATH=/opt/shop/venv/bin:/usr/bin "QUOTE=say \"hi\"" COST=5$$
//   EnvironmentFile=-/etc/default/shop
//   EnvironmentFile=/opt/shop/shared/env
//   ExecStart=/opt/shop/venv/bin/gunicorn --workers 4 --bind 127.0.0.1:8001 --bind unix:/run/shop/shop.sock
//     --access-logformat "%%(h)s %%(r)s %%(s)s" -c /opt/shop/gunicorn.conf.py shop.wsgi:application
// The probe unit had ExecStart= lines with quoted spaces, %%, "$$HOME", \;, "-", "@", "+" prefixes.
const SHOP_SHOW = [
  "Type=notify",
  "ExecStart={ path=/opt/shop/venv/bin/gunicorn ; argv[]=/opt/shop/venv/bin/gunicorn --workers 4 --bind 127.0.0.1:8001 --bind unix:/run/shop/shop.sock --access-logformat %(h)s %(r)s %(s)s -c /opt/shop/gunicorn.conf.py shop.wsgi:application ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  'Environment=DJANGO_SETTINGS_MODULE=shop.settings "GREETING=hello world" WEB_CONCURRENCY=3 PATH=/opt/shop/venv/bin:/usr/bin "QUOTE=say \\"hi\\"" "COST=5\\$\\$"',
  "EnvironmentFiles=/etc/default/shop (ignore_errors=yes)",
  "EnvironmentFiles=/opt/shop/shared/env (ignore_errors=no)",
  "WorkingDirectory=!/opt/shop",
  "User=shop",
  "Group=shop",
  "LoadState=loaded",
  "ActiveState=inactive",
  "FragmentPath=/run/systemd/system/shop.service",
].join("\n");
const SHOP_EXEC_JSON =
  '{"type":"a(sasbttttuii)","data":[["/opt/shop/venv/bin/gunicorn",["/opt/shop/venv/bin/gunicorn","--workers","4","--bind","127.0.0.1:8001","--bind","unix:/run/shop/shop.sock","--access-logformat","%(h)s %(r)s %(s)s","-c","/opt/shop/gunicorn.conf.py","shop.wsgi:application"],false,0,0,0,0,0,0,0]]}';
const SHOP_EXEC_EX_JSON =
  '{"type":"a(sasasttttuii)","data":[["/opt/shop/venv/bin/gunicorn",["/opt/shop/venv/bin/gunicorn","--workers","4","--bind","127.0.0.1:8001","--bind","unix:/run/shop/shop.sock","--access-logformat","%(h)s %(r)s %(s)s","-c","/opt/shop/gunicorn.conf.py","shop.wsgi:application"],[],0,0,0,0,0,0,0]]}';
const PROBE_SHOW = [
  "Type=oneshot",
  "ExecStart={ path=/bin/echo ; argv[]=/bin/echo hello world 100% single q semi;colon ; back\\slash $$HOME tab\tx a  b  c ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/true ; argv[]=/bin/true a ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/sleep ; argv[]=sleeper 1 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/true ; argv[]=/bin/true ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/echo ; argv[]=/bin/echo   lead trail   { } x ; y it\"s it's ${NOPE} $HOME ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  'Environment="A=x y" B=2 "C=with esc" "D=quo\\"te" "E=dol\\$\\$lar" F=pct%s "G=back\\\\slash" H= "I=tab\\tin" "J=single q" K=inner L=ünï',
  "EnvironmentFiles=/etc/default/u1 (ignore_errors=yes)",
  "EnvironmentFiles=/etc/u1 with space.env (ignore_errors=no)",
  "WorkingDirectory=!/opt/x",
  "User=nobody",
  "Group=nogroup",
  "LoadState=loaded",
  "ActiveState=inactive",
  "FragmentPath=/run/systemd/system/u1.service",
].join("\n");
const RUNNING_SHOW = [
  "Type=simple",
  "ExecStart={ path=/usr/bin/sleep ; argv[]=/usr/bin/sleep infinity ; ignore_errors=no ; start_time=[Wed 2026-12-02 12:46:08 UTC] ; stop_time=[n/a] ; pid=104 ; code=(null) ; status=0/0 }",
  "Environment=",
  "WorkingDirectory=~",
  "User=",
  "Group=",
  "LoadState=loaded",
  "ActiveState=active",
  "FragmentPath=/run/systemd/system/u2.service",
].join("\n");
const NOT_FOUND_SHOW = [
  "Type=",
  "Environment=",
  "WorkingDirectory=",
  "User=",
  "Group=",
  "LoadState=not-found",
  "ActiveState=inactive",
  "FragmentPath=",
].join("\n");
const RT_SHOW = [
  "Type=oneshot",
  "ExecStart={ path=/usr/bin/printf ; argv[]=/usr/bin/printf %s| hello world    lead trail   tab\there new",
  "line q\"uote it's back\\slash \\ \\; ; a;b $HOME $$ ${X} %n 100% %% ünï { } #hash x=y - -- \r \u0001 \u007f end\\ ' \" a b; @x -y ;;  ;  ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/echo ; argv[]=/bin/echo ; ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/echo ; argv[]=/bin/echo -x +y !z :w @v ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=true ; argv[]=true app:app ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/opt/my app/bin/x% ; argv[]=/opt/my app/bin/x% a ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/echo ; argv[]=/bin/echo $$HOME $$$$ a$$b $${X} ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/sleep ; argv[]=sleeper 1 ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/bin/false ; argv[]=/bin/false x y ; ignore_errors=yes ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  "ExecStart={ path=/opt/a$b/run ; argv[]=/opt/a$$b/run $$x ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
  'Environment="A=x y" B= "C=q\\"u" "D=back\\\\slash" "E=\\$HOME \\$\\$" F=100% "G=tab\\tnl\\nend" "H=it\'s" I=ünï "J=\\r" "K=\\001" "L= lead" M=a=b=c N=%n "O=\\\\" "P=\\\\x41" "Q=\'single\'" "S=a;b" "T=\\177" "U=\\`cmd\\`"',
  "WorkingDirectory=",
  "User=",
  "Group=",
  "LoadState=loaded",
  "ActiveState=inactive",
  "FragmentPath=/run/systemd/system/rt.service",
].join("\n");
const RT_EXEC_JSON =
  '{"type":"a(sasbttttuii)","data":[["/usr/bin/printf",["/usr/bin/printf","%s|","hello world","","  lead","trail  ","tab\\there","new\\nline","q\\"uote","it\'s","back\\\\slash","\\\\","\\\\;",";","a;b","$HOME","$$","${X}","%n","100%","%%","ünï","{","}","#hash","x=y","-","--","\\r","\\u0001","\u007f","end\\\\","\'","\\"","a b;","@x","-y",";;"," ; "],false,0,0,0,0,0,0,0],["/bin/echo",["/bin/echo",";"],false,0,0,0,0,0,0,0],["/bin/echo",["/bin/echo","-x","+y","!z",":w","@v"],false,0,0,0,0,0,0,0],["true",["true","app:app"],false,0,0,0,0,0,0,0],["/opt/my app/bin/x%",["/opt/my app/bin/x%","a"],false,0,0,0,0,0,0,0],["/bin/echo",["/bin/echo","$$HOME","$$$$","a$$b","$${X}"],false,0,0,0,0,0,0,0],["/bin/sleep",["sleeper","1"],false,0,0,0,0,0,0,0],["/bin/false",["/bin/false","x y"],true,0,0,0,0,0,0,0],["/opt/a$b/run",["/opt/a$$b/run","$$x"],false,0,0,0,0,0,0,0]]}';
// Written by execStartLine, loaded by systemd 252, read back over busctl (RT_EXEC_JSON).
const VERIFIED_EXEC = [
  {
    argv: [
      "/usr/bin/printf",
      "%s|",
      "hello world",
      "",
      "  lead",
      "trail  ",
      "tab\there",
      "new\nline",
      'q"uote',
      "it's",
      "back\\slash",
      "\\",
      "\\;",
      ";",
      "a;b",
      "$HOME",
      "$$",
      "${X}",
      "%n",
      "100%",
      "%%",
      "ünï",
      "{",
      "}",
      "#hash",
      "x=y",
      "-",
      "--",
      "\r",
      "\u0001",
      "\u007f",
      "end\\",
      "'",
      '"',
      "a b;",
      "@x",
      "-y",
      ";;",
      " ; ",
    ],
    line: '/usr/bin/printf %%s| "hello world" "" "  lead" "trail  " "tab\\there" "new\\nline" "q\\"uote" "it\'s" "back\\\\slash" "\\\\" "\\\\;" \\; a;b $HOME $$ ${X} %%n 100%% %%%% ünï { } #hash x=y - -- "\\r" "\\x01" "\\x7f" "end\\\\" "\'" "\\"" "a b;" @x -y ;; " ; "',
  },
  {
    argv: ["/bin/echo", ";"],
    line: "/bin/echo \\;",
  },
  {
    argv: ["/bin/echo", "-x", "+y", "!z", ":w", "@v"],
    line: "/bin/echo -x +y !z :w @v",
  },
  {
    argv: ["true", "app:app"],
    line: "true app:app",
  },
  {
    argv: ["/opt/my app/bin/x%", "a"],
    line: '"/opt/my app/bin/x%%" a',
  },
  {
    argv: ["/bin/echo", "$HOME", "$$", "a$b", "${X}"],
    opts: { literal: true },
    line: "/bin/echo $$HOME $$$$ a$$b $${X}",
  },
  {
    argv: ["sleeper", "1"],
    opts: { path: "/bin/sleep" },
    line: "@/bin/sleep sleeper 1",
  },
  {
    argv: ["/bin/false", "x y"],
    opts: { ignoreErrors: true },
    line: '-/bin/false "x y"',
  },
  {
    argv: ["/opt/a$b/run", "$x"],
    opts: { path: "/opt/a$b/run", literal: true },
    line: "@/opt/a$b/run /opt/a$$b/run $$x",
  },
];
// Written by environmentLine; systemd 252 stored exactly KEY=value.
const VERIFIED_ENV: [string, string, string][] = [
  ["A", "x y", '"A=x y"'],
  ["B", "", "B="],
  ["C", 'q"u', '"C=q\\"u"'],
  ["D", "back\\slash", '"D=back\\\\slash"'],
  ["E", "$HOME $$", '"E=$HOME $$"'],
  ["F", "100%", "F=100%%"],
  ["G", "tab\tnl\nend", '"G=tab\\tnl\\nend"'],
  ["H", "it's", '"H=it\'s"'],
  ["I", "ünï", "I=ünï"],
  ["J", "\r", '"J=\\r"'],
  ["K", "\u0001", '"K=\\x01"'],
  ["L", " lead", '"L= lead"'],
  ["M", "a=b=c", "M=a=b=c"],
  ["N", "%n", "N=%%n"],
  ["O", "\\", '"O=\\\\"'],
  ["P", "\\x41", '"P=\\\\x41"'],
  ["Q", "'single'", "\"Q='single'\""],
  ["S", "a;b", "S=a;b"],
  ["T", "\u007f", '"T=\\x7f"'],
  ["U", "`cmd`", "U=`cmd`"],
];

describe("parseUnitShow", () => {
  test("reads a gunicorn unit with quoted arguments and Environment with spaces", () => {
    const facts = parseUnitShow(SHOP_SHOW);
    assert.equal(facts.loadState, "loaded");
    assert.equal(facts.activeState, "inactive");
    assert.equal(facts.type, "notify");
    assert.equal(facts.fragmentPath, "/run/systemd/system/shop.service");
    // systemd prints WorkingDirectory=-/opt/shop as "!/opt/shop".
    assert.equal(facts.workingDirectory, "/opt/shop");
    assert.equal(facts.user, "shop");
    assert.equal(facts.group, "shop");
    assert.deepEqual(facts.environment, {
      DJANGO_SETTINGS_MODULE: "shop.settings",
      GREETING: "hello world",
      WEB_CONCURRENCY: "3",
      PATH: "/opt/shop/venv/bin:/usr/bin",
      QUOTE: 'say "hi"',
      // Environment= never expands $: "$$" stays two characters.
      COST: "5$$",
    });
    assert.deepEqual(facts.environmentFiles, ["/etc/default/shop", "/opt/shop/shared/env"]);
    assert.deepEqual(facts.execCommands, [
      { path: "/opt/shop/venv/bin/gunicorn", argv: facts.execStart[0], ignoreErrors: false },
    ]);
  });

  test("splits argv[] on spaces: an argument holding spaces comes apart (systemctl does not quote)", () => {
    const argv = parseUnitShow(SHOP_SHOW).execStart[0];
    assert.deepEqual(argv, [
      "/opt/shop/venv/bin/gunicorn",
      "--workers",
      "4",
      "--bind",
      "127.0.0.1:8001",
      "--bind",
      "unix:/run/shop/shop.sock",
      "--access-logformat",
      "%(h)s",
      "%(r)s",
      "%(s)s",
      "-c",
      "/opt/shop/gunicorn.conf.py",
      "shop.wsgi:application",
    ]);
  });

  test("keeps every ExecStart= in order with its path and - prefix; a ';' argument does not end argv", () => {
    const facts = parseUnitShow(PROBE_SHOW);
    assert.deepEqual(
      facts.execCommands.map((c) => [c.path, c.ignoreErrors]),
      [
        ["/bin/echo", false],
        ["/bin/true", true],
        ["/bin/sleep", false],
        ["/bin/true", false],
        ["/bin/echo", false],
      ],
    );
    assert.deepEqual(facts.execStart[0], [
      "/bin/echo",
      "hello",
      "world",
      "100%",
      "single",
      "q",
      "semi;colon",
      ";",
      "back\\slash",
      "$$HOME",
      "tab\tx",
      "a",
      "b",
      "c",
    ]);
    // "@/bin/sleep sleeper 1": argv[0] is not the program.
    assert.deepEqual(facts.execStart[2], ["sleeper", "1"]);
    assert.deepEqual(facts.execStart[4], [
      "/bin/echo",
      "lead",
      "trail",
      "{",
      "}",
      "x",
      ";",
      "y",
      'it"s',
      "it's",
      "${NOPE}",
      "$HOME",
    ]);
  });

  test("decodes systemctl's quoting of Environment items", () => {
    const facts = parseUnitShow(PROBE_SHOW);
    assert.deepEqual(facts.environment, {
      A: "x y",
      B: "2",
      C: "with esc",
      D: 'quo"te',
      E: "dol$$lar",
      F: "pct%s",
      G: "back\\slash",
      H: "",
      I: "tab\tin",
      J: "single q",
      K: "inner",
      L: "ünï",
    });
    assert.deepEqual(facts.environmentFiles, ["/etc/default/u1", "/etc/u1 with space.env"]);
    assert.equal(facts.workingDirectory, "/opt/x");
    assert.equal(facts.user, "nobody");
    assert.equal(facts.group, "nogroup");
  });

  test("decodes octal and C escapes and keeps = inside values", () => {
    const facts = parseUnitShow(RT_SHOW);
    assert.deepEqual(
      facts.environment,
      Object.fromEntries(VERIFIED_ENV.map(([key, value]) => [key, value])),
    );
  });

  test("a newline inside an argument continues the ExecStart value instead of losing the command", () => {
    const facts = parseUnitShow(RT_SHOW);
    assert.equal(facts.execCommands.length, 9);
    assert.equal(facts.execCommands[0]?.path, "/usr/bin/printf");
    assert.ok(facts.execStart[0]?.includes("new\nline"));
    assert.deepEqual(facts.execStart[1], ["/bin/echo", ";"]);
    assert.equal(facts.execCommands[7]?.ignoreErrors, true);
    // The properties after it are still read.
    assert.equal(facts.fragmentPath, "/run/systemd/system/rt.service");
  });

  test("a running unit: real timestamps and pid in the tail, WorkingDirectory=~ kept, empty values", () => {
    const facts = parseUnitShow(`${RUNNING_SHOW}\n`);
    assert.deepEqual(facts.execStart, [["/usr/bin/sleep", "infinity"]]);
    assert.equal(facts.activeState, "active");
    assert.equal(facts.workingDirectory, "~");
    assert.equal(facts.user, "");
    assert.deepEqual(facts.environment, {});
    // The trailing newline systemctl prints is not part of the last value.
    assert.equal(facts.fragmentPath, "/run/systemd/system/u2.service");
  });

  test("a unit that does not exist", () => {
    const facts = parseUnitShow(NOT_FOUND_SHOW);
    assert.equal(facts.loadState, "not-found");
    assert.equal(facts.fragmentPath, "");
    assert.deepEqual(facts.execStart, []);
    assert.deepEqual(facts.environmentFiles, []);
  });

  test("ExecStart of a killed run and an unrecognised value", () => {
    const facts = parseUnitShow(
      [
        "ExecStart={ path=/usr/bin/gunicorn ; argv[]=/usr/bin/gunicorn app:app ; ignore_errors=no ; start_time=[Wed 2026-12-02 12:46:08 UTC] ; stop_time=[Wed 2026-12-02 12:50:00 UTC] ; pid=77 ; code=killed ; status=15/TERM }",
        "ExecStart=garbage",
        "ExecStart=",
      ].join("\n"),
    );
    assert.deepEqual(facts.execStart, [["/usr/bin/gunicorn", "app:app"]]);
  });
});

describe("parseExecStartJson", () => {
  test("gives the exact argv systemctl show loses", () => {
    const [command] = parseExecStartJson(SHOP_EXEC_JSON);
    assert.equal(command?.path, "/opt/shop/venv/bin/gunicorn");
    assert.equal(command?.argv[8], "%(h)s %(r)s %(s)s");
    assert.equal(command?.argv.length, 12);
    assert.equal(command?.ignoreErrors, false);
    assert.deepEqual(parseExecStartJson(SHOP_EXEC_EX_JSON), parseExecStartJson(SHOP_EXEC_JSON));
  });

  test("keeps empty arguments, spaces, '@' and '-'", () => {
    const commands = parseExecStartJson(RT_EXEC_JSON);
    assert.deepEqual(commands[0]?.argv.slice(0, 6), [
      "/usr/bin/printf",
      "%s|",
      "hello world",
      "",
      "  lead",
      "trail  ",
    ]);
    assert.deepEqual(commands[6], {
      path: "/bin/sleep",
      argv: ["sleeper", "1"],
      ignoreErrors: false,
    });
    assert.equal(commands[7]?.ignoreErrors, true);
  });

  test("reads ExecStartEx flags", () => {
    const text = JSON.stringify({
      type: "a(sasasttttuii)",
      data: [
        ["/bin/true", ["/bin/true"], ["ignore-failure", "privileged"], 0, 0, 0, 0, 0, 0, 0],
        ["/bin/true", ["/bin/true"], ["privileged"], 0, 0, 0, 0, 0, 0, 0],
      ],
    });
    assert.deepEqual(
      parseExecStartJson(text).map((c) => c.ignoreErrors),
      [true, false],
    );
  });

  test("refuses something else", () => {
    assert.throws(() => parseExecStartJson('{"type":"s","data":"x"}'), /no data array/);
    assert.throws(() => parseExecStartJson('{"data":[["/bin/true","x"]]}'), /bad path or argv/);
    assert.throws(() => parseExecStartJson("not json"));
  });
});

describe("unitObjectPath", () => {
  test("escapes like systemd (checked with busctl LoadUnit on systemd 252)", () => {
    assert.equal(
      unitObjectPath("9web-app@blue-1.service"),
      "/org/freedesktop/systemd1/unit/_39web_2dapp_40blue_2d1_2eservice",
    );
    assert.equal(unitObjectPath("shop.service"), "/org/freedesktop/systemd1/unit/shop_2eservice");
    assert.equal(unitObjectPath("app2.service"), "/org/freedesktop/systemd1/unit/app2_2eservice");
    assert.equal(
      unitObjectPath("café.service"),
      "/org/freedesktop/systemd1/unit/caf_c3_a9_2eservice",
    );
  });
});

describe("readGunicornArgv", () => {
  const gunicorn = (argv: string[]): boolean => readGunicornArgv(argv, {}).gunicorn;

  test("recognises gunicorn however it is started", () => {
    assert.ok(gunicorn(["/usr/bin/gunicorn", "app:app"]));
    assert.ok(gunicorn(["gunicorn3", "app:app"]));
    assert.ok(gunicorn(["/opt/shop/venv/bin/gunicorn", "app:app"]));
    assert.ok(gunicorn(["/usr/bin/python3", "-m", "gunicorn", "app:app"]));
    assert.ok(
      gunicorn(["/opt/shop/venv/bin/python3.11", "-u", "-X", "dev", "-m", "gunicorn", "app"]),
    );
    assert.ok(gunicorn(["python3", "-mgunicorn", "app"]));
    assert.ok(gunicorn(["python3", "-m", "gunicorn.app.wsgiapp", "app"]));
    assert.ok(gunicorn(["/usr/bin/python3", "/opt/shop/venv/bin/gunicorn", "app"]));
  });

  test("and nothing else", () => {
    assert.ok(!gunicorn(["/usr/bin/uwsgi", "--ini", "app.ini"]));
    assert.ok(!gunicorn(["/usr/bin/python3", "-m", "http.server"]));
    assert.ok(!gunicorn(["/usr/bin/python3", "-c", "import gunicorn"]));
    assert.ok(!gunicorn(["/usr/bin/python3", "manage.py", "runserver"]));
    assert.ok(!gunicorn(["/usr/local/bin/gunicorn-wrapper", "app"]));
    assert.ok(!gunicorn([]));
    assert.deepEqual(readGunicornArgv(["/usr/bin/uwsgi"], { GUNICORN_CMD_ARGS: "-w 3" }), {
      gunicorn: false,
    });
  });

  test("the shop unit's exact argv", () => {
    const [command] = parseExecStartJson(SHOP_EXEC_JSON);
    assert.deepEqual(readGunicornArgv(command?.argv ?? [], {}), {
      gunicorn: true,
      workers: 4,
      workersFrom: "--workers",
      bind: ["127.0.0.1:8001", "unix:/run/shop/shop.sock"],
      bindFrom: "--bind",
      configFile: "/opt/shop/gunicorn.conf.py",
      app: "shop.wsgi:application",
    });
  });

  test("every spelling of the worker count; the last one wins", () => {
    const workers = (...args: string[]) => readGunicornArgv(["gunicorn", ...args], {}).workers;
    assert.equal(workers("-w", "3", "app"), 3);
    assert.equal(workers("-w3", "app"), 3);
    assert.equal(workers("-w=3", "app"), 3);
    assert.equal(workers("--workers", "3", "app"), 3);
    assert.equal(workers("--workers=3", "app"), 3);
    assert.equal(workers("--workers=5", "app", "-w", "2"), 2);
    assert.equal(workers("-Dw4", "app"), 4);
    assert.equal(workers("--workers", " 7 "), 7);
    assert.equal(workers("-w", "1_0"), 10);
    assert.equal(workers("app"), undefined);
    // gunicorn refuses these; no number is made up.
    assert.equal(workers("-w", "x", "app"), undefined);
    assert.equal(workers("-w", "-1", "app"), undefined);
    // argparse abbreviations: "--work" could be four options.
    assert.equal(workers("--work", "3", "app"), undefined);
  });

  test("binds in order, config file as written, the app after options", () => {
    const facts = readGunicornArgv(
      [
        "gunicorn",
        "--bin",
        "0.0.0.0:80",
        "-bunix:/run/a.sock",
        "--bind=[::]:8000",
        "--conf",
        "python:shop.gconf",
        "--access-logfile",
        "-",
        "--preload",
        "shop:app",
        "--reload",
      ],
      {},
    );
    assert.deepEqual(facts.bind, ["0.0.0.0:80", "unix:/run/a.sock", "[::]:8000"]);
    assert.equal(facts.configFile, "python:shop.gconf");
    assert.equal(facts.app, "shop:app");
  });

  test("option values are not taken for the app; '--' ends options", () => {
    const app = (...args: string[]) => readGunicornArgv(["gunicorn", ...args], {}).app;
    assert.equal(app("--access-logformat", "%(h)s %(r)s", "-k", "gevent", "app:app"), "app:app");
    assert.equal(app("--chdir", "/opt/app", "-t", "30", "myapp.wsgi"), "myapp.wsgi");
    assert.equal(app("--proxy-protocol", "-w", "2", "app"), "app");
    assert.equal(app("--proxy-protocol", "v2", "app"), "app");
    assert.equal(app("--", "-w"), "-w");
    assert.equal(app("-w", "2"), undefined);
  });

  test("GUNICORN_CMD_ARGS counts, below the command line", () => {
    const env = { GUNICORN_CMD_ARGS: `-w 6 --bind '127.0.0.1:9000' -c "conf dir/g.py" other:app` };
    assert.deepEqual(readGunicornArgv(["gunicorn", "app:app"], env), {
      gunicorn: true,
      workers: 6,
      workersFrom: "GUNICORN_CMD_ARGS",
      bind: ["127.0.0.1:9000"],
      bindFrom: "GUNICORN_CMD_ARGS",
      configFile: "conf dir/g.py",
      app: "app:app",
    });
    const both = readGunicornArgv(["gunicorn", "-w", "2", "-b", ":5000", "app:app"], env);
    assert.equal(both.workers, 2);
    assert.equal(both.workersFrom, "--workers");
    assert.deepEqual(both.bind, [":5000"]);
    // Python's shlex: \" and \\ are escapes inside double quotes.
    const quoted = readGunicornArgv(["gunicorn", "app"], {
      GUNICORN_CMD_ARGS: String.raw`--access-logformat "%(h)s \"%(r)s\"" -b "a\"b\\c" -w 3`,
    });
    assert.deepEqual([quoted.workers, quoted.bind], [3, [String.raw`a"b\c`]]);
    // gunicorn itself dies on an unbalanced quote there.
    assert.equal(
      readGunicornArgv(["gunicorn"], { GUNICORN_CMD_ARGS: `-w 3 "x` }).workers,
      undefined,
    );
  });
});

describe("readGunicornConfig", () => {
  test("simple assignments, comments, a list over several lines", () => {
    const config = readGunicornConfig(`# gunicorn.conf.py
import multiprocessing

bind = [
    "127.0.0.1:8000",  # local
    'unix:/run/shop/shop.sock',
]
workers = 3  # three
timeout = 30
`);
    assert.deepEqual(config, {
      workers: 3,
      bind: ["127.0.0.1:8000", "unix:/run/shop/shop.sock"],
      computed: [],
    });
  });

  test("a computed worker count is reported, not guessed", () => {
    const config = readGunicornConfig(`import multiprocessing
workers = multiprocessing.cpu_count() * 2 + 1
bind = "0.0.0.0:8000"
`);
    assert.deepEqual(config, { bind: ["0.0.0.0:8000"], computed: ["workers"] });
  });

  test("bind forms: string, tuple, one-element tuple, parenthesised string, empty list", () => {
    const bind = (text: string) => readGunicornConfig(text).bind;
    assert.deepEqual(bind("bind = '127.0.0.1:8000'"), ["127.0.0.1:8000"]);
    assert.deepEqual(bind("bind = ('a:1', 'b:2')"), ["a:1", "b:2"]);
    assert.deepEqual(bind("bind = ('a:1',)"), ["a:1"]);
    assert.deepEqual(bind("bind = ('a:1')"), ["a:1"]);
    assert.deepEqual(bind("bind = []"), []);
    assert.deepEqual(bind("bind = 'a' 'b:1'"), ["ab:1"]);
    assert.deepEqual(bind(String.raw`bind = r'\d:1'`), [String.raw`\d:1`]);
    assert.deepEqual(bind(String.raw`bind = "it\"s:1"`), ['it"s:1']);
    assert.deepEqual(bind(String.raw`bind = "\x41:1"`), ["A:1"]);
    assert.deepEqual(bind("bind: list = ['x:1']"), ["x:1"]);
  });

  test("the last top-level assignment wins", () => {
    assert.equal(readGunicornConfig("workers = 2\nworkers = 4\n").workers, 4);
    // A function's local is not the module's; the later top-level value stands.
    const config = readGunicornConfig(`def post_fork(server, worker):
    workers = 100
    return workers
workers = 2
`);
    assert.deepEqual(config, { workers: 2, computed: [] });
  });

  test("conditional, augmented, unpacked, imported or walrus assignments make the value unknown", () => {
    const unknown = (text: string) => readGunicornConfig(text).computed;
    assert.deepEqual(unknown("workers = 2\nif True:\n    workers = 5\n"), ["workers"]);
    assert.deepEqual(unknown("if True: workers = 9\n"), ["workers"]);
    assert.deepEqual(unknown("workers = 2\nworkers += 1\n"), ["workers"]);
    assert.deepEqual(unknown("workers, bind = 3, 'x:1'\n"), ["workers", "bind"]);
    assert.deepEqual(unknown("from settings_base import *\n"), ["workers", "bind"]);
    assert.deepEqual(unknown("from settings_base import timeout, workers\n"), ["workers"]);
    assert.deepEqual(unknown("x = (workers := 4)\n"), ["workers"]);
    assert.deepEqual(unknown("for workers in range(3): pass\n"), ["workers"]);
    assert.deepEqual(unknown("workers = 3 \\\n  + 1\n"), ["workers"]);
    assert.deepEqual(unknown("import os\nworkers = int(os.environ.get('WEB_CONCURRENCY', 3))\n"), [
      "workers",
    ]);
    assert.deepEqual(unknown("bind = f'{HOST}:8000'\n"), ["bind"]);
    assert.deepEqual(unknown("bind = '127.0.0.1:' + PORT\n"), ["bind"]);
    assert.deepEqual(unknown("bind = ['a:1', b]\n"), ["bind"]);
    assert.deepEqual(unknown("workers = 0x4\n"), ["workers"]);
  });

  test("a later plain assignment after a computed one is known again", () => {
    assert.deepEqual(readGunicornConfig("if x:\n    workers = 5\nworkers = 3\n"), {
      workers: 3,
      computed: [],
    });
  });

  test("names in strings, comments, docstrings, dicts or loops that only read them are not assignments", () => {
    const config = readGunicornConfig(`"""Shop settings.
workers = 99
"""
s = 'workers = 8'
x = {'workers': 3}
for i in range(workers if False else 1): pass
bind = "a:1"  # bind = 'b:2'
print(workers == 2)
`);
    assert.deepEqual(config, { bind: ["a:1"], computed: [] });
  });

  test("Windows line endings, also after a backslash continuation", () => {
    assert.deepEqual(readGunicornConfig("workers = 3 \\\r\n  + 1\r\nbind = 'a:1'\r\n"), {
      bind: ["a:1"],
      computed: ["workers"],
    });
    assert.deepEqual(readGunicornConfig("workers = 3\r\nbind = 'a:1'\r\n"), {
      workers: 3,
      bind: ["a:1"],
      computed: [],
    });
  });

  test("statements after ';' are read; upper case names are not gunicorn settings", () => {
    assert.deepEqual(readGunicornConfig("workers = 3; bind = 'h:1'\n"), {
      workers: 3,
      bind: ["h:1"],
      computed: [],
    });
    assert.deepEqual(readGunicornConfig("WORKERS = 4\nworkers = '5'\n"), {
      workers: 5,
      computed: [],
    });
  });
});

describe("gunicornSettings", () => {
  const argv = (...args: string[]) => readGunicornArgv(["gunicorn", ...args, "app"], {});

  test("argv beats the config file, which beats WEB_CONCURRENCY and PORT, which beat the defaults", () => {
    const env = { WEB_CONCURRENCY: "5", PORT: "7000" };
    const config = { workers: 3, bind: ["unix:/run/x.sock"] };
    assert.deepEqual(gunicornSettings(argv("-w", "2", "-b", "a:1"), config, env), {
      workers: 2,
      workersFrom: "--workers",
      bind: ["a:1"],
      bindFrom: "--bind",
    });
    assert.deepEqual(gunicornSettings(argv(), config, env), {
      workers: 3,
      workersFrom: "config file",
      bind: ["unix:/run/x.sock"],
      bindFrom: "config file",
    });
    assert.deepEqual(gunicornSettings(argv(), undefined, env), {
      workers: 5,
      workersFrom: "WEB_CONCURRENCY",
      bind: ["0.0.0.0:7000"],
      bindFrom: "PORT",
    });
    assert.deepEqual(gunicornSettings(argv(), { bind: [] }, {}), {
      workers: 1,
      workersFrom: "default",
      bind: [],
      bindFrom: "config file",
    });
    assert.deepEqual(gunicornSettings(argv(), undefined, {}), {
      workers: 1,
      workersFrom: "default",
      bind: ["127.0.0.1:8000"],
      bindFrom: "default",
    });
  });

  test("GUNICORN_CMD_ARGS is reported as such and beats the config file", () => {
    const env = { GUNICORN_CMD_ARGS: "--workers=4" };
    const facts = readGunicornArgv(["gunicorn", "app"], env);
    const settings = gunicornSettings(facts, { workers: 9 }, env);
    assert.equal(settings.workers, 4);
    assert.equal(settings.workersFrom, "GUNICORN_CMD_ARGS");
  });

  test("a WEB_CONCURRENCY gunicorn could not read is not used", () => {
    assert.equal(gunicornSettings(argv(), undefined, { WEB_CONCURRENCY: "four" }).workers, 1);
    assert.equal(gunicornSettings(argv(), undefined, { WEB_CONCURRENCY: " 6 " }).workers, 6);
  });
});

describe("baseUrlFromBind", () => {
  test("the cases gunicorn accepts", () => {
    assert.equal(baseUrlFromBind(["127.0.0.1:8000"]), "http://127.0.0.1:8000");
    assert.equal(baseUrlFromBind(["0.0.0.0:8000"]), "http://127.0.0.1:8000");
    assert.equal(baseUrlFromBind([":8000"]), "http://127.0.0.1:8000");
    assert.equal(baseUrlFromBind(["[::]:8000"]), "http://[::1]:8000");
    assert.equal(baseUrlFromBind(["[::1]:9000"]), "http://[::1]:9000");
    assert.equal(baseUrlFromBind(["[::]"]), "http://[::1]:8000");
    assert.equal(baseUrlFromBind(["localhost:5000"]), "http://localhost:5000");
    assert.equal(baseUrlFromBind(["LocalHost:5000"]), "http://localhost:5000");
    assert.equal(baseUrlFromBind(["localhost"]), "http://localhost:8000");
    assert.equal(baseUrlFromBind(["tcp://10.0.0.5:8080"]), "http://10.0.0.5:8080");
    assert.equal(baseUrlFromBind([""]), "http://127.0.0.1:8000");
  });

  test("the first TCP address, past unix sockets and fds", () => {
    assert.equal(baseUrlFromBind(["unix:/run/app.sock"]), undefined);
    assert.equal(baseUrlFromBind(["fd://3"]), undefined);
    // A socket file named like a port is still a socket.
    assert.equal(baseUrlFromBind(["unix:8000"]), undefined);
    assert.equal(
      baseUrlFromBind(["unix:/run/app.sock", "fd://3", "127.0.0.1:8001", "0.0.0.0:9"]),
      "http://127.0.0.1:8001",
    );
    assert.equal(baseUrlFromBind([]), undefined);
  });

  test("nothing usable from a bare port, a bad port or a zone index", () => {
    assert.equal(baseUrlFromBind(["8000"]), undefined);
    assert.equal(baseUrlFromBind(["host:http"]), undefined);
    assert.equal(baseUrlFromBind(["host:70000"]), undefined);
    assert.equal(baseUrlFromBind(["host:0"]), undefined);
    assert.equal(baseUrlFromBind(["[fe80::1%eth0]:80"]), undefined);
    assert.equal(baseUrlFromBind(["8000", "127.0.0.1:1"]), "http://127.0.0.1:1");
  });
});

describe("rewritePathPrefix", () => {
  const move = (value: string) => rewritePathPrefix(value, "/opt/app", "/opt/app/current");

  test("whole components, wherever a path starts", () => {
    assert.equal(move("/opt/app/venv/bin/gunicorn"), "/opt/app/current/venv/bin/gunicorn");
    assert.equal(move("/opt/app"), "/opt/app/current");
    assert.equal(move("/opt/app/"), "/opt/app/current/");
    assert.equal(move("--chdir=/opt/app"), "--chdir=/opt/app/current");
    assert.equal(
      move("PATH=/opt/app/venv/bin:/opt/app/bin:/usr/bin"),
      "PATH=/opt/app/current/venv/bin:/opt/app/current/bin:/usr/bin",
    );
    assert.equal(move("'/opt/app/x' \"/opt/app\""), "'/opt/app/current/x' \"/opt/app/current\"");
    // systemd's ignore-missing mark.
    assert.equal(move("-/opt/app/.env"), "-/opt/app/current/.env");
    assert.equal(move("/opt/app/currently"), "/opt/app/current/currently");
  });

  test("leaves other paths and paths already moved alone", () => {
    for (const value of [
      "/opt/application/x",
      "/opt/app2",
      "/opt/app.old/x",
      "/opt/app-x",
      "/srv/opt/app/x",
      "x/opt/app",
      "/opt/app/current",
      "/opt/app/current/x",
      "PATH=/opt/app/current/bin:/usr/bin",
      "",
    ]) {
      assert.equal(move(value), value, value);
    }
    assert.equal(move("/opt/app/current2/x"), "/opt/app/current/current2/x");
  });

  test("to need not be under from", () => {
    assert.equal(
      rewritePathPrefix("/opt/app/run /opt/app", "/opt/app", "/srv/app"),
      "/srv/app/run /srv/app",
    );
  });

  test("from must be an absolute directory without a trailing slash", () => {
    assert.throws(() => rewritePathPrefix("x", "opt/app", "/y"), /not an absolute directory/);
    assert.throws(() => rewritePathPrefix("x", "/opt/app/", "/y"), /not an absolute directory/);
    assert.throws(() => rewritePathPrefix("x", "/", "/y"), /not an absolute directory/);
  });
});

// A model of systemd 252's ExecStart= parser (config_parse_exec) for what execStartLine writes:
// words split on blanks, double quotes, C escapes, a lone ";" separator, "\;", prefixes on the
// first word, then "%%" specifiers. Checked against systemd itself through VERIFIED_EXEC below.
function systemdWords(line: string): string[] {
  const words: string[] = [];
  const blank = (c: string | undefined) => c === " " || c === "\t";
  let i = 0;
  for (;;) {
    while (blank(line[i])) i++;
    if (i >= line.length) return words;
    if (words.length > 0 && line[i] === ";" && (i + 1 === line.length || blank(line[i + 1]))) {
      throw new Error("command separator");
    }
    if (
      words.length > 0 &&
      line.startsWith("\\;", i) &&
      (i + 2 === line.length || blank(line[i + 2]))
    ) {
      words.push(";");
      i += 2;
      continue;
    }
    let word = "";
    let quoted = false;
    while (i < line.length && (quoted || !blank(line[i]))) {
      const c = line[i] as string;
      if (c === "\\") {
        const next = line[i + 1] ?? "";
        const simple: Record<string, string> = {
          a: "\x07",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
          v: "\v",
          "\\": "\\",
          '"': '"',
          "'": "'",
        };
        if (simple[next] !== undefined) {
          word += simple[next];
          i += 2;
        } else if (/^x[0-9a-f]{2}$/i.test(line.slice(i + 1, i + 4))) {
          word += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          throw new Error(`escape \\${next} not modelled`);
        }
      } else if (c === '"') {
        quoted = !quoted;
        i++;
      } else if (c === "'" && !quoted) {
        throw new Error("single quotes not modelled");
      } else {
        word += c;
        i++;
      }
    }
    if (quoted) throw new Error("unterminated quote");
    words.push(word);
  }
}

function specifiers(word: string): string {
  return word.replace(/%(.?)/g, (_, c: string) => {
    if (c !== "%") throw new Error(`specifier %${c}`);
    return "%";
  });
}

function systemdExec(line: string): { path: string; argv: string[]; ignoreErrors: boolean } {
  const words = systemdWords(line);
  let first = words.shift() ?? "";
  let ignoreErrors = false;
  let separate = false;
  while (/^[-@]/.test(first)) {
    if (first[0] === "-") ignoreErrors = true;
    else separate = true;
    first = first.slice(1);
  }
  if (/^[:+!]/.test(first)) throw new Error("other prefixes not modelled");
  const path = specifiers(first);
  const argv = words.map(specifiers);
  return { path, argv: separate ? argv : [path, ...argv], ignoreErrors };
}

// Deterministic pseudo-random argv (mulberry32), built from the characters systemd treats specially.
function randomArgs(seed: number, count: number): string[][] {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pieces = [
    "a",
    "Z",
    "0",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    '"',
    "'",
    "\\",
    ";",
    "%",
    "%%",
    "%n",
    "$",
    "$$",
    "${X}",
    "{",
    "}",
    "#",
    "=",
    "-",
    "@",
    "+",
    "!",
    ":",
    "ü",
    "€",
    "\x01",
    "\x7f",
    "/",
    "\\;",
    "\\x41",
  ];
  const out: string[][] = [];
  for (let n = 0; n < count; n++) {
    const argv = [`/usr/bin/prog${n % 7 === 0 ? " x%" : ""}`];
    const words = Math.floor(next() * 6);
    for (let w = 0; w < words; w++) {
      const r = next();
      if (r < 0.05) argv.push(";");
      else if (r < 0.1) argv.push("");
      else {
        let word = "";
        const length = 1 + Math.floor(next() * 5);
        for (let k = 0; k < length; k++) word += pieces[Math.floor(next() * pieces.length)];
        argv.push(word);
      }
    }
    out.push(argv);
  }
  return out;
}

describe("execStartLine", () => {
  test("lines systemd 252 really read back as the same argv", () => {
    const stored = parseExecStartJson(RT_EXEC_JSON);
    VERIFIED_EXEC.forEach((c, i) => {
      assert.equal(execStartLine(c.argv, c.opts), c.line, JSON.stringify(c.argv));
      // The model agrees with what systemd stored.
      assert.deepEqual(systemdExec(c.line), stored[i], c.line);
    });
  });

  test("round-trips argv full of quotes, blanks, escapes, ';', '%' and '$' through the model", () => {
    for (const argv of randomArgs(20261202, 400)) {
      const line = execStartLine(argv);
      assert.deepEqual(systemdExec(line), { path: argv[0], argv, ignoreErrors: false }, line);
    }
  });

  test("literal: every $ reaches the process, so it is doubled for systemd", () => {
    assert.equal(execStartLine(["/bin/echo", "$HOME", "a$$b"]), "/bin/echo $HOME a$$b");
    assert.equal(
      execStartLine(["/bin/echo", "$HOME", "a$$b"], { literal: true }),
      "/bin/echo $$HOME a$$$$b",
    );
    for (const argv of randomArgs(7, 100)) {
      const line = execStartLine(argv, { literal: true });
      const stored = argv.map((a, i) => (i === 0 ? a : a.replaceAll("$", "$$$$")));
      assert.deepEqual(systemdExec(line).argv, stored, line);
    }
  });

  test("prefixes: '@' for a different argv[0], '-' to ignore the exit status", () => {
    assert.equal(
      execStartLine(["gunicorn: shop", "app"], { path: "/usr/bin/gunicorn" }),
      '@/usr/bin/gunicorn "gunicorn: shop" app',
    );
    assert.equal(
      execStartLine(["/bin/true"], { ignoreErrors: true, path: "/bin/true" }),
      "-@/bin/true /bin/true",
    );
    assert.deepEqual(
      systemdExec(execStartLine(["-x", ";"], { path: "/bin/x", ignoreErrors: true })),
      {
        path: "/bin/x",
        argv: ["-x", ";"],
        ignoreErrors: true,
      },
    );
  });

  test("refuses what systemd cannot run", () => {
    assert.throws(() => execStartLine([]), /empty argv/);
    assert.throws(() => execStartLine([""]), /empty argv/);
    assert.throws(() => execStartLine(["venv/bin/gunicorn"]), /neither absolute nor a bare name/);
    assert.throws(() => execStartLine(["/opt/x/"]), /directory/);
    assert.throws(() => execStartLine(['/opt/"x"/run']), /cannot run/);
    assert.throws(() => execStartLine(["-rm"]), /cannot run/);
    assert.throws(() => execStartLine(["/bin/echo", "a\0b"]), /NUL/);
    assert.throws(() => execStartLine(["/opt/a$b/run"], { literal: true }), /opts.path/);
    // A bare name is fine: systemd looks it up.
    assert.equal(execStartLine(["gunicorn", "app"]), "gunicorn app");
  });

  test("argv from systemctl show comes back unchanged once the path is moved", () => {
    const [command] = parseExecStartJson(SHOP_EXEC_JSON);
    const argv = (command?.argv ?? []).map((a) =>
      rewritePathPrefix(a, "/opt/shop", "/opt/shop/current"),
    );
    const line = execStartLine(argv);
    assert.equal(
      line,
      '/opt/shop/current/venv/bin/gunicorn --workers 4 --bind 127.0.0.1:8001 --bind unix:/run/shop/shop.sock --access-logformat "%%(h)s %%(r)s %%(s)s" -c /opt/shop/current/gunicorn.conf.py shop.wsgi:application',
    );
    assert.deepEqual(systemdExec(line).argv, argv);
  });
});

describe("environmentLine", () => {
  test("lines systemd 252 really stored as KEY=value", () => {
    for (const [key, value, line] of VERIFIED_ENV) {
      assert.equal(environmentLine(key, value), line, key);
      assert.deepEqual(systemdWords(line).map(specifiers), [`${key}=${value}`], line);
    }
  });

  test("round-trips random values; $ is never doubled (Environment= does not expand it)", () => {
    randomArgs(99, 300).forEach((argv, n) => {
      const value = argv.slice(1).join("");
      const line = environmentLine(`V_${n}`, value);
      assert.deepEqual(systemdWords(line).map(specifiers), [`V_${n}=${value}`], line);
    });
    assert.equal(environmentLine("PRICE", "$5"), "PRICE=$5");
  });

  test("refuses names systemd would ignore", () => {
    for (const key of ["", "1A", "A-B", "A=B", "A B", "É"]) {
      assert.throws(() => environmentLine(key, "x"), /not a valid variable name/, key);
    }
    assert.equal(environmentLine("_A1", "x"), "_A1=x");
  });
});
