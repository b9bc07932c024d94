"""make install into a DESTDIR: every file in place with its mode, systemd
units that `systemd-analyze verify` accepts, nginx snippets that nginx
accepts, and a settings file naming every setting. Needs no stack: the
binaries are the test build's (FLAVOR=test), the push-stream module the one
make test built."""
import os
import re
import shutil
import socket
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "/usr/local"
UNITS = ("wa-fcgi-webhook@1.service", "wa-fcgi-api@1.service",
         "wa-pushd.service", "wa-jobd.service", "wa-fcgi-webhook.socket",
         "wa-fcgi-api.socket", "wa-backend.target")


def make_install(destdir, *args):
    p = subprocess.run(["make", "--no-print-directory", "install",
                        "FLAVOR=test", "DESTDIR=%s" % destdir, *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture(scope="module", params=("pushstream", "nchan"))
def installed(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir-" + request.param)
    make_install(d, "PUSH_MODULE=" + request.param)
    return str(d), request.param


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path) as f:
        return f.read()


def test_every_file_is_in_place_with_its_mode(installed):
    d, module = installed
    want = {
        PREFIX + "/bin/wa-fcgi": 0o755, PREFIX + "/bin/wa-pushd": 0o755,
        PREFIX + "/bin/wa-jobd": 0o755, PREFIX + "/bin/wactl": 0o755,
        PREFIX + "/share/wa-backend/schema/001_init.sql": 0o644,
        PREFIX + "/share/wa-backend/www/index.html": 0o644,
        "/etc/wa-backend/wa.env": 0o640,
        "/etc/nginx/wa-backend/publish-key.conf": 0o600,
        "/etc/nginx/wa-backend/http.conf": 0o644,
        "/etc/nginx/wa-backend/server.conf": 0o644,
        "/etc/nginx/wa-backend/push-%s-sub.conf" % module: 0o644,
        "/etc/logrotate.d/wa-backend": 0o644,
        PREFIX + "/lib/tmpfiles.d/wa-backend.conf": 0o644,
    }
    for unit in ("wa-fcgi-webhook@.service", "wa-fcgi-api@.service",
                 "wa-pushd.service", "wa-jobd.service",
                 "wa-fcgi-webhook.socket",
                 "wa-fcgi-api.socket", "wa-backend.target"):
        want[PREFIX + "/lib/systemd/system/" + unit] = 0o644
    if module == "pushstream":
        want["/etc/nginx/modules-enabled/50-wa-push-stream.conf"] = 0o644
        want[PREFIX + "/lib/wa-backend/ngx_http_push_stream_module.so"] = 0o644
    else:   # Debian's package loads nchan itself
        assert not os.path.exists(d + "/etc/nginx/modules-enabled")
    for path, m in want.items():
        assert os.path.isfile(d + path), path
        assert mode(d + path) == m, "%s: %o, want %o" % (path, mode(d + path), m)
    schema = sorted(os.listdir(os.path.join(ROOT, "schema")))
    assert sorted(os.listdir(d + PREFIX + "/share/wa-backend/schema")) == schema
    functions = sorted(os.listdir(os.path.join(ROOT, "schema", "functions")))
    assert sorted(os.listdir(
        d + PREFIX + "/share/wa-backend/schema/functions")) == functions


def verify(unit_dir, units):
    env = dict(os.environ, SYSTEMD_UNIT_PATH=unit_dir + ":")
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                       env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_every_unit_passes_systemd_analyze_verify(installed, tmp_path):
    d, _ = installed
    # verify checks that the programs a unit runs exist: point the units
    # at DESTDIR's copies (the machine has no /usr/local/bin/wa-fcgi).
    for name in os.listdir(d + PREFIX + "/lib/systemd/system"):
        text = read(d + PREFIX + "/lib/systemd/system/" + name)
        with open(tmp_path / name, "w") as f:
            f.write(text.replace(PREFIX + "/", d + PREFIX + "/"))
    rc, out = verify(str(tmp_path), UNITS)
    assert rc == 0 and out == "", out
    # The check can fail: a unit naming a program that is not there.
    broken = read(tmp_path / "wa-pushd.service").replace(
        "/bin/wa-pushd", "/bin/wa-pushd-missing")
    with open(tmp_path / "wa-pushd.service", "w") as f:
        f.write(broken)
    rc, out = verify(str(tmp_path), ["wa-pushd.service"])
    assert "wa-pushd-missing" in out


def test_services_are_supervised_and_hardened(installed):
    d, _ = installed
    unit_dir = d + PREFIX + "/lib/systemd/system/"
    for name in ("wa-fcgi-webhook@.service", "wa-fcgi-api@.service",
                 "wa-pushd.service", "wa-jobd.service"):
        text = read(unit_dir + name)
        for line in ("Restart=always", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "ProtectHome=yes", "Group=wa-backend",
                     "ReadWritePaths=/run/wa-backend /var/log/wa-backend",
                     "EnvironmentFile=/etc/wa-backend/wa.env"):
            assert line in text.splitlines(), (name, line)
        assert re.search(r"^User=(wa-backend|www-data)$", text, re.M), name
    for pool in ("webhook", "api"):
        text = read(unit_dir + "wa-fcgi-%s@.service" % pool)
        assert "Sockets=wa-fcgi-%s.socket" % pool in text
        assert "StandardInput=socket" in text


def test_the_settings_file_names_every_setting(installed):
    d, module = installed
    env = read(d + "/etc/wa-backend/wa.env")
    conf = read(os.path.join(ROOT, "shared", "conf.c"))
    for name in set(re.findall(r'"(WA_[A-Z0-9_]+)"', conf)):
        assert re.search(r"^#?%s=" % name, env, re.M), name
    values = dict(line.split("=", 1) for line in env.splitlines()
                  if line and not line.startswith("#"))
    assert len(values["WA_JWT_SECRET"]) >= 32
    assert values["WA_PUSH_MODULE"] == module
    key = values["WA_PUBLISH_SECRET"]
    assert len(key) == 64 and '"%s" 1;' % key in read(
        d + "/etc/nginx/wa-backend/publish-key.conf")
    assert values["WA_SCHEMA_DIR"] == PREFIX + "/share/wa-backend/schema"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_nginx_accepts_the_snippets_in_a_tls_site(installed, tmp_path):
    d, module = installed
    # The snippets name their installed paths: test copies that name
    # DESTDIR's, beside a main config like Debian's.
    conf_dir = tmp_path / "wa-backend"
    shutil.copytree(d + "/etc/nginx/wa-backend", conf_dir)
    for name in os.listdir(conf_dir):
        text = read(conf_dir / name).replace("/etc/nginx/wa-backend",
                                             str(conf_dir))
        text = text.replace("/var/log/nginx", str(tmp_path))
        with open(conf_dir / name, "w") as f:
            f.write(text)
    if module == "pushstream":
        load = read(d + "/etc/nginx/modules-enabled/50-wa-push-stream.conf") \
            .replace(PREFIX + "/", d + PREFIX + "/")
    else:
        load = "load_module /usr/lib/nginx/modules/ngx_nchan_module.so;\n"
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=wa.example.com", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    main = tmp_path / "nginx.conf"
    with open(main, "w") as f:
        f.write(load + """
pid %(t)s/nginx.pid;
error_log %(t)s/error.log;
events {}
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	sendfile on;
	access_log %(t)s/access.log;
	include %(c)s/http.conf;
	server {
		listen 127.0.0.1:%(port)d ssl;
		server_name wa.example.com;
		ssl_certificate %(cert)s;
		ssl_certificate_key %(key)s;
		include %(c)s/server.conf;
	}
}
""" % {"t": tmp_path, "c": conf_dir, "port": free_port(), "cert": cert,
            "key": key})
    p = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-c",
                        str(main)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_a_second_install_keeps_the_admins_settings(tmp_path):
    make_install(tmp_path)
    env = str(tmp_path) + "/etc/wa-backend/wa.env"
    key = str(tmp_path) + "/etc/nginx/wa-backend/publish-key.conf"
    with open(env, "a") as f:
        f.write("WA_LOG_LEVEL=debug\n")
    before = (read(env), read(key))
    make_install(tmp_path)
    assert (read(env), read(key)) == before
    assert mode(env) == 0o640 and mode(key) == 0o600
