"""No secret ever reaches a server log.

Runs last in this package (file name): by then the ledger holds the root secret, every
registry password and ``authorizationToken`` handed out, and every user secret the other
tests made, and the servers they used ran with debug logging and the access log on. The
test also makes its own traffic first, so that it means something when run alone.
"""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.auth import (
    ROOT_KEY,
    SecretLedger,
    basic,
    ecr_client,
    login_password,
    new_user_key,
)
from tests.support.images import make_image, push_image
from tests.support.servers import DockyardProcess

pytestmark = pytest.mark.timeout(60)


def test_secrets_not_in_logs(
    auth_server: DockyardProcess,
    auth_servers: list[DockyardProcess],
    ledger: SecretLedger,
    repo_name: str,
) -> None:
    url = auth_server.url
    password = ledger.add_password(login_password(url))
    user_key = new_user_key(auth_server.data_dir, "log-check", ledger)
    user_password = ledger.add_password(login_password(url, user_key))
    ecr_client(url).create_repository(repositoryName=repo_name)
    with httpx.Client(base_url=url, headers=basic(user_password), timeout=30) as c:
        push_image(c, repo_name, make_image(f"logs/{repo_name}", layers=1), tag="v1")
    # Refused attempts carry secrets too: a near-miss password, a wrong secret key.
    assert httpx.get(url + "/v2/", headers=basic(password + "x")).status_code == 401
    assert httpx.get(url + "/v2/", headers=basic(password, user="admin")).status_code == 401
    with pytest.raises(ClientError):
        ecr_client(url, (ROOT_KEY[0], user_key[1])).describe_repositories()

    assert auth_server in auth_servers
    secrets = sorted(ledger.values)
    assert ROOT_KEY[1] in secrets and password in secrets and user_key[1] in secrets
    for server in auth_servers:
        log = server.log_text()
        # The log is not empty: requests were logged (access log), and refusals among them.
        assert '"GET /v2/ HTTP/1.1" ' in log, log[-2000:]
        leaked = [s for s in secrets if s in log]
        assert not leaked, f"{len(leaked)} secret(s) in the log of {server.url}"
    main_log = auth_server.log_text()
    assert '"GET /v2/ HTTP/1.1" 401' in main_log
    assert '"POST / HTTP/1.1" 403' in main_log
