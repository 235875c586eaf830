"""Building the asyncua client for a configured endpoint: security, identity, retry delays."""

from __future__ import annotations

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import security_policies, uacrypto
from cryptography import x509

from kiln.config_ingest import OpcUaSettings

REQUEST_TIMEOUT_S = 5.0  # one service call; also bounds a connect to a silent host
WATCHDOG_S = 1.0  # asyncua reads ServerStatus this often: how fast a dead server is noticed

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
}
MODES = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


def certificate_uri(cert: x509.Certificate) -> str | None:
    """The application URI in a certificate's subject alternative names, if any."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


async def new_client(cfg: OpcUaSettings) -> Client:
    """An unconnected client with the configured identity and security.

    With security, asyncua first asks the server for its endpoints (over an unsecured
    channel, as OPC 10000-4 5.4.4 allows) to learn its certificate, so this may fail like a
    connect does.
    """
    client = Client(cfg.endpoint, timeout=REQUEST_TIMEOUT_S, watchdog_intervall=WATCHDOG_S)
    client.name = client.description = f"Kiln {cfg.name}"
    client.application_uri = f"urn:kiln:opcua:{cfg.name}"
    client.product_uri = "urn:kiln"
    if cfg.username:
        client.set_user(cfg.username)
        client.set_password(cfg.password)
    if cfg.security_mode != "None" and cfg.certificate and cfg.private_key:
        cert = await uacrypto.load_certificate(cfg.certificate)
        # The server checks that our ApplicationUri is the one in our certificate.
        client.application_uri = certificate_uri(cert) or client.application_uri
        await client.set_security(
            POLICIES[cfg.security_policy],
            certificate=cfg.certificate,
            private_key=cfg.private_key,
            mode=MODES[cfg.security_mode],
        )
    return client
