"""Mail settings from the environment: each transport's variables, checked with messages naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapidreview.config import ConfigError, Settings, from_environment


def settings(**env: str) -> Settings:
    return from_environment(env)


def test_the_default_is_the_file_transport_and_needs_nothing() -> None:
    s = settings()
    assert s.mail_transport == "file" and s.smtp.host == "" and s.graph.endpoint == "https://graph.microsoft.com/v1.0"


def test_smtp_reads_host_port_tls_and_login(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    s = settings(RAPIDREVIEW_MAIL_TRANSPORT="smtp", RAPIDREVIEW_SMTP_HOST="smtp.council.example",
                 RAPIDREVIEW_SMTP_USERNAME="rapidreview", RAPIDREVIEW_SMTP_PASSWORD_FILE=str(secret),
                 RAPIDREVIEW_SMTP_REQUIRE_TLS_DOMAINS="gov.uk, .nhs.net")
    assert (s.smtp.host, s.smtp.port, s.smtp.tls, s.smtp.password) == ("smtp.council.example", 587, "starttls", "s3cret")
    assert s.smtp.require_tls_domains == ("gov.uk", "nhs.net")
    assert "s3cret" not in repr(s)  # a logged Settings never shows a secret
    assert settings(RAPIDREVIEW_SMTP_TLS="ssl").smtp.port == 465


def test_ews_and_graph_read_their_settings() -> None:
    ews = settings(RAPIDREVIEW_MAIL_TRANSPORT="ews", RAPIDREVIEW_EWS_URL="https://mail.council.example/EWS/Exchange.asmx",
                   RAPIDREVIEW_EWS_USERNAME="COUNCIL\\svc", RAPIDREVIEW_EWS_PASSWORD="pw",
                   RAPIDREVIEW_EWS_MAILBOX="rapid.review@council.example").ews
    assert (ews.auth, ews.username, ews.mailbox) == ("ntlm", "COUNCIL\\svc", "rapid.review@council.example")
    graph = settings(RAPIDREVIEW_MAIL_TRANSPORT="graph", RAPIDREVIEW_GRAPH_TENANT_ID="t", RAPIDREVIEW_GRAPH_CLIENT_ID="c",
                     RAPIDREVIEW_GRAPH_CLIENT_SECRET="x", RAPIDREVIEW_GRAPH_ENDPOINT="https://graph.microsoft.us/v1.0/").graph
    assert (graph.tenant_id, graph.client_id, graph.endpoint) == ("t", "c", "https://graph.microsoft.us/v1.0")


@pytest.mark.parametrize(("env", "message"), [
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "smtp"}, "RAPIDREVIEW_SMTP_HOST must be set when RAPIDREVIEW_MAIL_TRANSPORT is smtp"),
    ({"RAPIDREVIEW_SMTP_PORT": "25x"}, r"RAPIDREVIEW_SMTP_PORT must be a port number \(1-65535\), not '25x'"),
    ({"RAPIDREVIEW_SMTP_TLS": "yes"}, "RAPIDREVIEW_SMTP_TLS must be one of starttls, ssl, opportunistic, none, not 'yes'"),
    ({"RAPIDREVIEW_SMTP_USERNAME": "u"}, "RAPIDREVIEW_SMTP_USERNAME and RAPIDREVIEW_SMTP_PASSWORD must be set together"),
    ({"RAPIDREVIEW_SMTP_TLS": "none", "RAPIDREVIEW_SMTP_USERNAME": "u", "RAPIDREVIEW_SMTP_PASSWORD": "p"},
     "RAPIDREVIEW_SMTP_TLS=none cannot be used with RAPIDREVIEW_SMTP_USERNAME"),
    ({"RAPIDREVIEW_SMTP_CA_FILE": "/no/such/ca.pem"}, "RAPIDREVIEW_SMTP_CA_FILE: no file at /no/such/ca.pem"),
    ({"RAPIDREVIEW_SMTP_TIMEOUT": "soon"}, "RAPIDREVIEW_SMTP_TIMEOUT must be a number of seconds, not 'soon'"),
    ({"RAPIDREVIEW_SMTP_PASSWORD": "a", "RAPIDREVIEW_SMTP_PASSWORD_FILE": "/x"},
     "set RAPIDREVIEW_SMTP_PASSWORD or RAPIDREVIEW_SMTP_PASSWORD_FILE, not both"),
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "ews"}, "RAPIDREVIEW_EWS_URL must be set when RAPIDREVIEW_MAIL_TRANSPORT is ews"),
    ({"RAPIDREVIEW_EWS_URL": "http://mail.council.example/EWS/Exchange.asmx"}, "RAPIDREVIEW_EWS_URL must be an https:// URL"),
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "ews", "RAPIDREVIEW_EWS_URL": "https://m.example/EWS/Exchange.asmx"},
     "RAPIDREVIEW_EWS_USERNAME, RAPIDREVIEW_EWS_PASSWORD must be set when RAPIDREVIEW_MAIL_TRANSPORT is ews and "
     "RAPIDREVIEW_EWS_AUTH is ntlm"),
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "ews", "RAPIDREVIEW_EWS_URL": "https://m.example/EWS/Exchange.asmx",
      "RAPIDREVIEW_EWS_AUTH": "oauth2", "RAPIDREVIEW_EWS_CLIENT_ID": "c"},
     "RAPIDREVIEW_EWS_TENANT_ID, RAPIDREVIEW_EWS_CLIENT_SECRET must be set"),
    ({"RAPIDREVIEW_EWS_AUTH": "kerberos"}, "RAPIDREVIEW_EWS_AUTH must be one of ntlm, basic, oauth2"),
    ({"RAPIDREVIEW_EWS_MAILBOX": "rapid.review"}, "RAPIDREVIEW_EWS_MAILBOX must be an e-mail address"),
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "graph", "RAPIDREVIEW_GRAPH_TENANT_ID": "t"},
     "RAPIDREVIEW_GRAPH_CLIENT_ID must be set when RAPIDREVIEW_MAIL_TRANSPORT is graph"),
    ({"RAPIDREVIEW_MAIL_TRANSPORT": "graph", "RAPIDREVIEW_GRAPH_TENANT_ID": "t", "RAPIDREVIEW_GRAPH_CLIENT_ID": "c"},
     "RAPIDREVIEW_GRAPH_CLIENT_SECRET or RAPIDREVIEW_GRAPH_CERTIFICATE_FILE must be set"),
    ({"RAPIDREVIEW_GRAPH_CERTIFICATE_THUMBPRINT": "AB12"},
     "RAPIDREVIEW_GRAPH_CERTIFICATE_FILE and RAPIDREVIEW_GRAPH_CERTIFICATE_THUMBPRINT must be set together"),
    ({"RAPIDREVIEW_GRAPH_ENDPOINT": "graph.microsoft.com"}, "RAPIDREVIEW_GRAPH_ENDPOINT must be an https:// URL"),
])
def test_a_bad_mail_setting_stops_start_up_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_environment(env)
