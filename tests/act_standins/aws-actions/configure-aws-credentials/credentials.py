"""aws-actions/configure-aws-credentials stand-in (see action.yml)."""

import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

env = os.environ


def assume(role: str) -> dict:
    token = env.get("OBS_ACT_OIDC_TOKEN", "")
    if env["IN_TOKEN_FILE"]:
        with open(env["IN_TOKEN_FILE"], encoding="utf-8") as fh:
            token = fh.read().strip()
    endpoint = env["IN_STS_ENDPOINT"] or env.get("AWS_ENDPOINT_URL_STS", "")
    if not token or not endpoint:
        raise SystemExit(
            "::error::configure-aws-credentials stand-in: role-to-assume needs a token "
            "(OBS_ACT_OIDC_TOKEN or web-identity-token-file) and sts-endpoint/AWS_ENDPOINT_URL_STS"
        )
    body = urllib.parse.urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "RoleArn": role,
            "RoleSessionName": env["IN_SESSION_NAME"] or "GitHubActions",
            "DurationSeconds": env["IN_DURATION"] or "3600",
            "WebIdentityToken": token,
        }
    ).encode()
    with urllib.request.urlopen(urllib.request.Request(endpoint, data=body), timeout=30) as resp:
        tree = ET.fromstring(resp.read())
    found = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in tree.iter()}
    return {
        "id": found["AccessKeyId"],
        "secret": found["SecretAccessKey"],
        "token": found.get("SessionToken", ""),
        "expiration": found.get("Expiration", ""),
        "account": role.split(":")[4] if role.count(":") >= 4 else "",
    }


def main() -> int:
    region = env["IN_REGION"].strip()
    if not region:
        print("::error::Input required and not supplied: aws-region")
        return 1
    if env["IN_KEY_ID"] and env["IN_SECRET"] and not env["IN_ROLE"]:
        creds = {
            "id": env["IN_KEY_ID"],
            "secret": env["IN_SECRET"],
            "token": env["IN_SESSION_TOKEN"],
            "expiration": "",
            "account": "",
        }
    elif env["IN_ROLE"]:
        creds = assume(env["IN_ROLE"])
    else:
        print("::error::Credentials could not be loaded, please check your action inputs")
        return 1
    for value in (creds["secret"], creds["token"]):
        if value:
            print(f"::add-mask::{value}")
    with open(env["GITHUB_ENV"], "a", encoding="utf-8") as out:
        out.write(f"AWS_REGION={region}\nAWS_DEFAULT_REGION={region}\n")
        if env["IN_OUTPUT_ENV"] != "false":
            out.write(f"AWS_ACCESS_KEY_ID={creds['id']}\nAWS_SECRET_ACCESS_KEY={creds['secret']}\n")
            if creds["token"]:
                out.write(f"AWS_SESSION_TOKEN={creds['token']}\n")
    with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"aws-account-id={creds['account']}\n")
        if env["IN_OUTPUT_CREDENTIALS"] == "true":
            out.write(
                f"aws-access-key-id={creds['id']}\naws-secret-access-key={creds['secret']}\n"
                f"aws-session-token={creds['token']}\naws-expiration={creds['expiration']}\n"
            )
    print(f"configure-aws-credentials stand-in: credentials for {region} exported")
    return 0


sys.exit(main())
