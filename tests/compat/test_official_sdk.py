"""The official Alibaba Cloud SDKs against `cityform emulator`.

Both the generated CityVisual client (`alibabacloud-cityvisual20181030`, which POSTs action
parameters in a form body with `Format=json`) and the core SDK's `CommonRequest`
(`aliyun-python-sdk-core`, everything in the query with `Format=JSON`) must work against
the emulator unchanged. When they do not, the emulator is wrong.

The official credentials library (`alibabacloud-credentials`) obtains OIDC and RamRoleArn
credentials from the emulator's STS, and the generated client then calls CityVisual with
them. The library always speaks https to STS (its providers set the protocol to `https`
with no option to change it), so the tests put a TLS front, with a certificate made for the
test and added to what `requests` trusts in this process, before the emulator's plain HTTP port: the
call is real, only encrypted on the way.

The binary comes from the environment variable `CITYFORM_BIN` (run.sh sets it).
"""

import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading

import pytest
from alibabacloud_cityvisual20181030 import models
from alibabacloud_cityvisual20181030.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException as GeneratedClientException
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest, RpcRequest

ACCESS_KEY_ID = "cityform-dev"
ACCESS_KEY_SECRET = "cityform-dev-secret"
INSTANCE = "cityvisual-Instance"
REGION = "cn-shanghai"
BANNER = "cityform emulator listening on http://"


class Emulator:
    """A `cityform emulator --listen 127.0.0.1:0` process and its address."""

    def __init__(self, *arguments):
        binary = os.environ.get("CITYFORM_BIN")
        if not binary:
            pytest.fail("CITYFORM_BIN must name the cityform binary (tests/compat/run.sh sets it)")
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [binary, "emulator", "--listen", "127.0.0.1:0", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={
                key: value
                for key, value in os.environ.items()
                if not key.startswith("CITYFORM_EMULATOR_")
            },
        )
        first_line = self.process.stdout.readline().decode()
        if not first_line.startswith(BANNER):
            self.stop()
            pytest.fail(f"unexpected first line from the emulator: {first_line!r}")
        # "http://127.0.0.1:PORT/" -> "127.0.0.1:PORT"
        self.address = first_line[len(BANNER):].strip().rstrip("/")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def emulator():
    running = Emulator()
    yield running
    running.stop()


def generated_client(emulator, secret=ACCESS_KEY_SECRET):
    return Client(
        Config(
            access_key_id=ACCESS_KEY_ID,
            access_key_secret=secret,
            endpoint=emulator.address,
            protocol="http",
            region_id=REGION,
        )
    )


def create_request(name, **overrides):
    fields = dict(
        instance_id=INSTANCE,
        job_group_name=name,
        algo_lib_id="3",
        resource_profile_id="6",
        planed_job_count=10,
        stream_per_job=5,
    )
    fields.update(overrides)
    return models.CreateJobGroupRequest(**fields)


def generated_error(call):
    with pytest.raises(GeneratedClientException) as raised:
        call()
    return raised.value.status_code, raised.value.code


def core_client(secret=ACCESS_KEY_SECRET):
    return AcsClient(ACCESS_KEY_ID, secret, REGION, auto_retry=False)


def common_request(emulator, action, method="POST", **params):
    request = CommonRequest(domain=emulator.address, version="2018-10-30", action_name=action)
    request.set_protocol_type("http")
    request.set_method(method)
    for name, value in params.items():
        request.add_query_param(name, value)
    return request


def core_call(emulator, action, method="POST", secret=ACCESS_KEY_SECRET, **params):
    body = core_client(secret).do_action_with_exception(
        common_request(emulator, action, method, **params)
    )
    return json.loads(body)


def core_error(emulator, action, **params):
    with pytest.raises(ServerException) as raised:
        core_call(emulator, action, **params)
    return raised.value.get_http_status(), raised.value.get_error_code()


CREATE = dict(
    InstanceId=INSTANCE,
    AlgoLibId="3",
    ResourceProfileId="6",
    PlanedJobCount="10",
    StreamPerJob="5",
)


# --- the generated client -------------------------------------------------------------


def test_generated_client_through_the_whole_life_of_a_group(emulator):
    client = generated_client(emulator)
    created = client.create_job_group(
        create_request(
            "traffic-east",
            job_count=3,
            job_group_params=[
                models.CreateJobGroupRequestJobGroupParams(key="ES_ENABLE", value="True"),
                models.CreateJobGroupRequestJobGroupParams(key="SCHEDULE_FLOW_START_TIME", value="Latest"),
            ],
        )
    )
    assert created.body.job_group_id == "1"
    assert len(created.body.request_id) == 36
    assert created.headers["x-acs-request-id"] == created.body.request_id

    described = client.describe_job_groups(
        models.DescribeJobGroupsRequest(instance_id=INSTANCE, job_group_id="1")
    ).body
    assert described.total_count == 1
    group = described.job_groups.job_group[0]
    assert (group.job_group_id, group.job_group_name, group.status) == ("1", "traffic-east", "Stopped")
    assert (group.algo_lib_id, group.resource_profile_id) == ("3", "6")
    assert (group.planed_job_count, group.stream_per_job, group.job_count) == (10, 5, 3)
    assert [(p.key, p.value) for p in group.job_group_params.job_group_param] == [
        ("ES_ENABLE", "True"),
        ("SCHEDULE_FLOW_START_TIME", "Latest"),
    ]
    assert group.compute_jobs.compute_job == []

    client.modify_job_group(
        models.ModifyJobGroupRequest(
            instance_id=INSTANCE,
            job_group_id="1",
            job_group_name="traffic-east-2",
            planed_job_count=12,
            job_group_params=[models.ModifyJobGroupRequestJobGroupParams(key="RDS_ENABLE", value="False")],
        )
    )
    group = client.describe_job_groups(
        models.DescribeJobGroupsRequest(instance_id=INSTANCE, job_group_id="1")
    ).body.job_groups.job_group[0]
    assert (group.job_group_name, group.planed_job_count) == ("traffic-east-2", 12)
    assert [(p.key, p.value) for p in group.job_group_params.job_group_param] == [("RDS_ENABLE", "False")]

    def status():
        return client.describe_job_groups(
            models.DescribeJobGroupsRequest(instance_id=INSTANCE, job_group_id="1")
        ).body.job_groups.job_group[0].status

    client.start_job_group(models.StartJobGroupRequest(instance_id=INSTANCE, job_group_id="1"))
    assert status() == "Running"
    client.stop_job_group(models.StopJobGroupRequest(instance_id=INSTANCE, job_group_id="1"))
    assert status() == "Stopped"

    deleted = client.delete_job_group(models.DeleteJobGroupRequest(instance_id=INSTANCE, job_group_id="1"))
    assert len(deleted.body.request_id) == 36
    assert client.describe_job_groups(models.DescribeJobGroupsRequest(instance_id=INSTANCE)).body.total_count == 0


def test_generated_client_sees_the_documented_errors(emulator):
    client = generated_client(emulator)
    client.create_job_group(create_request("taken"))
    assert generated_error(lambda: client.create_job_group(create_request("taken"))) == (
        400,
        "InvalidName.Duplicate",
    )
    assert generated_error(lambda: client.create_job_group(create_request("fresh", algo_lib_id="999"))) == (
        404,
        "InvalidAlgoLibId.NotFound",
    )
    bad_key = [models.CreateJobGroupRequestJobGroupParams(key="KAFKA_ENABLE", value="True")]
    assert generated_error(
        lambda: client.create_job_group(create_request("fresh", job_group_params=bad_key))
    ) == (403, "InvalidParameter.KeyNotSupported")
    assert generated_error(
        lambda: client.create_job_group(create_request("fresh", stream_per_job=None))
    ) == (403, "MissingParameter")
    assert generated_error(
        lambda: client.modify_job_group(
            models.ModifyJobGroupRequest(instance_id=INSTANCE, job_group_id="1", status="Paused")
        )
    ) == (400, "InvalidStatus.ValueNotSupported")
    assert generated_error(
        lambda: client.start_job_group(models.StartJobGroupRequest(instance_id=INSTANCE, job_group_id="42"))
    ) == (404, "InvalidJobGroupId.NotFound")
    wrong = generated_client(emulator, secret="not-the-secret")
    assert generated_error(lambda: wrong.create_job_group(create_request("fresh"))) == (
        400,
        "SignatureDoesNotMatch",
    )
    # Nothing but the first group was created.
    assert client.describe_job_groups(models.DescribeJobGroupsRequest(instance_id=INSTANCE)).body.total_count == 1


def test_generated_client_pages_through_describe(emulator):
    client = generated_client(emulator)
    for index in range(12):
        client.create_job_group(create_request(f"group-{index:02d}"))
    seen = []
    for page_number in (1, 2, 3):
        body = client.describe_job_groups(
            models.DescribeJobGroupsRequest(instance_id=INSTANCE, page_number=page_number, page_size=5)
        ).body
        assert (body.total_count, body.page_number, body.page_size) == (12, page_number, 5)
        seen += [group.job_group_id for group in body.job_groups.job_group]
    assert seen == [str(number) for number in range(1, 13)]
    past = client.describe_job_groups(
        models.DescribeJobGroupsRequest(instance_id=INSTANCE, page_number=4, page_size=5)
    ).body
    assert (past.total_count, past.job_groups.job_group) == (12, [])
    assert generated_error(
        lambda: client.describe_job_groups(models.DescribeJobGroupsRequest(instance_id=INSTANCE, page_size=101))
    ) == (400, "InvalidParameter")


# --- the core SDK's CommonRequest -----------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_common_request_through_the_whole_life_of_a_group(emulator, method):
    created = core_call(
        emulator,
        "CreateJobGroup",
        method,
        JobGroupName="core-group",
        **{"JobGroupParams.1.Key": "DATAHUB_ENABLE", "JobGroupParams.1.Value": "true"},
        **CREATE,
    )
    assert created["JobGroupId"] == "1"
    group_id = created["JobGroupId"]

    core_call(emulator, "ModifyJobGroup", method, InstanceId=INSTANCE, JobGroupId=group_id, StreamPerJob="7")
    core_call(emulator, "StartJobGroup", method, InstanceId=INSTANCE, JobGroupId=group_id)
    described = core_call(emulator, "DescribeJobGroups", method, InstanceId=INSTANCE)
    group = described["JobGroups"]["JobGroup"][0]
    assert (group["StreamPerJob"], group["Status"]) == (7, "Running")
    assert group["JobGroupParams"]["JobGroupParam"] == [{"Key": "DATAHUB_ENABLE", "Value": "True"}]
    core_call(emulator, "StopJobGroup", method, InstanceId=INSTANCE, JobGroupId=group_id)
    described = core_call(emulator, "DescribeJobGroups", method, InstanceId=INSTANCE)
    assert described["JobGroups"]["JobGroup"][0]["Status"] == "Stopped"
    core_call(emulator, "DeleteJobGroup", method, InstanceId=INSTANCE, JobGroupId=group_id)
    assert core_call(emulator, "DescribeJobGroups", method, InstanceId=INSTANCE)["TotalCount"] == 0


def test_common_request_sees_the_documented_errors(emulator):
    core_call(emulator, "CreateJobGroup", JobGroupName="taken", **CREATE)
    assert core_error(emulator, "CreateJobGroup", JobGroupName="taken", **CREATE) == (400, "InvalidName.Duplicate")
    assert core_error(emulator, "CreateJobGroup", JobGroupName="fresh", **{**CREATE, "AlgoLibId": "999"}) == (
        404,
        "InvalidAlgoLibId.NotFound",
    )
    assert core_error(
        emulator,
        "CreateJobGroup",
        JobGroupName="fresh",
        **{"JobGroupParams.1.Key": "NOPE", "JobGroupParams.1.Value": "True"},
        **CREATE,
    ) == (403, "InvalidParameter.KeyNotSupported")
    missing = {name: value for name, value in CREATE.items() if name != "PlanedJobCount"}
    assert core_error(emulator, "CreateJobGroup", JobGroupName="fresh", **missing) == (403, "MissingParameter")
    assert core_error(emulator, "CreateJobGroup", JobGroupName="9lives", **CREATE) == (400, "InvalidName.Malformed")
    assert core_error(emulator, "DescribeJobGroups", InstanceId="nowhere") == (404, "InvalidInstanceId.NotFound")
    assert core_error(emulator, "DescribeJobGroupz", InstanceId=INSTANCE) == (404, "InvalidAction.NotFound")


def test_common_request_pages_through_describe(emulator):
    for index in range(23):
        core_call(emulator, "CreateJobGroup", JobGroupName=f"group-{index:02d}", **CREATE)
    first = core_call(emulator, "DescribeJobGroups", InstanceId=INSTANCE)
    assert (first["TotalCount"], first["PageNumber"], first["PageSize"]) == (23, 1, 10)
    third = core_call(emulator, "DescribeJobGroups", InstanceId=INSTANCE, PageNumber="3")
    assert [group["JobGroupId"] for group in third["JobGroups"]["JobGroup"]] == ["21", "22", "23"]
    past = core_call(emulator, "DescribeJobGroups", InstanceId=INSTANCE, PageNumber="4")
    assert (past["TotalCount"], past["JobGroups"]["JobGroup"]) == (23, [])


def test_common_request_with_a_wrong_secret_gets_the_string_it_signed_back(emulator):
    request = common_request(emulator, "DescribeJobGroups", InstanceId=INSTANCE)
    with pytest.raises(ServerException) as raised:
        core_client(secret="not-the-secret").do_action_with_exception(request)
    assert (raised.value.get_http_status(), raised.value.get_error_code()) == (400, "SignatureDoesNotMatch")
    # CommonRequest keeps the string it signed on the request it wraps.
    assert raised.value.get_error_msg().split(":")[1] == request.request.string_to_sign


def test_a_typed_rpc_request_with_a_wrong_secret_is_told_its_secret_is_wrong(emulator):
    # The core SDK turns SignatureDoesNotMatch into InvalidAccessKeySecret only when the
    # server's string-to-sign equals its own: proof that both canonicalise alike.
    request = RpcRequest("cityvisual", "2018-10-30", "DescribeJobGroups")
    request.set_endpoint(emulator.address)
    request.set_protocol_type("http")
    request.set_method("POST")
    request.add_query_param("InstanceId", INSTANCE)
    with pytest.raises(ServerException) as raised:
        core_client(secret="not-the-secret").do_action_with_exception(request)
    assert (raised.value.get_http_status(), raised.value.get_error_code()) == (400, "InvalidAccessKeySecret")
    request = RpcRequest("cityvisual", "2018-10-30", "DescribeJobGroups")
    request.set_endpoint(emulator.address)
    request.set_protocol_type("http")
    request.add_query_param("InstanceId", INSTANCE)
    assert json.loads(core_client().do_action_with_exception(request))["TotalCount"] == 0


# ---------------------------------------------------------------- the credentials library

ROLE_ARN = "acs:ram::1234567890123456:role/compat"
PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/compat"
OIDC_TOKEN = "compat-oidc-token"


class TlsFront:
    """TLS on a loopback port, forwarding every connection to the emulator's plain port."""

    def __init__(self, upstream, directory):
        self.certificate = os.path.join(directory, "front.pem")
        key = os.path.join(directory, "front-key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", key, "-out", self.certificate, "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True,
            capture_output=True,
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.certificate, key)
        host, port = upstream.split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()
            return
        self.connections += 1
        upstream = socket.create_connection(self.upstream)

        def pipe(source, target):
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for end in (source, target):
                    try:
                        end.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, secure), daemon=True).start()
        pipe(secure, upstream)

    def close(self):
        self.listener.close()


@pytest.fixture
def sts(tmp_path, monkeypatch):
    """An emulator accepting only OIDC_TOKEN, and a TLS front the library trusts."""
    running = Emulator("--oidc-token", OIDC_TOKEN)
    front = TlsFront(running.address, str(tmp_path))
    # The library's HTTP layer (Tea) passes `verify=True` itself, so `REQUESTS_CA_BUNDLE` is
    # not consulted: the test certificate is added to what `requests` trusts by default.
    import requests.adapters

    preloaded = getattr(requests.adapters, "_preloaded_ssl_context", None)
    if preloaded is not None:
        preloaded.load_verify_locations(front.certificate)
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", front.certificate)
    yield running, front
    front.close()
    running.stop()


def client_with(emulator, credentials):
    return Client(
        Config(
            access_key_id=credentials.get_access_key_id(),
            access_key_secret=credentials.get_access_key_secret(),
            security_token=credentials.get_security_token(),
            endpoint=emulator.address,
            protocol="http",
            region_id=REGION,
        )
    )


def assert_issued_key_works(emulator, credentials, name):
    assert credentials.get_access_key_id().startswith("STS.")
    assert credentials.get_security_token()
    client = client_with(emulator, credentials)
    created = client.create_job_group(create_request(name)).body
    described = client.describe_job_groups(
        models.DescribeJobGroupsRequest(instance_id=INSTANCE, job_group_id=created.job_group_id)
    ).body
    assert described.job_groups.job_group[0].job_group_name == name


def test_credentials_library_gets_oidc_credentials_from_the_emulators_sts(sts, tmp_path):
    from alibabacloud_credentials.provider import OIDCRoleArnCredentialsProvider

    emulator, front = sts
    token_file = tmp_path / "token"
    token_file.write_text(OIDC_TOKEN)
    provider = OIDCRoleArnCredentialsProvider(
        role_arn=ROLE_ARN,
        oidc_provider_arn=PROVIDER_ARN,
        oidc_token_file_path=str(token_file),
        role_session_name="compat-oidc",
        sts_endpoint=front.address,
    )
    credentials = provider.get_credentials()
    assert front.connections >= 1
    assert_issued_key_works(emulator, credentials, "from-oidc")

    # A token the emulator does not accept is refused by STS, through the library.
    token_file.write_text(OIDC_TOKEN + "-wrong")
    refused = OIDCRoleArnCredentialsProvider(
        role_arn=ROLE_ARN,
        oidc_provider_arn=PROVIDER_ARN,
        oidc_token_file_path=str(token_file),
        role_session_name="compat-oidc",
        sts_endpoint=front.address,
    )
    with pytest.raises(Exception) as error:
        refused.get_credentials()
    assert "AuthenticationFail.OIDCToken.Invalid" in str(error.value)


def test_credentials_library_gets_ram_role_arn_credentials_from_the_emulators_sts(sts):
    from alibabacloud_credentials.provider import (
        RamRoleArnCredentialsProvider,
        StaticAKCredentialsProvider,
    )

    emulator, front = sts
    provider = RamRoleArnCredentialsProvider(
        credentials_provider=StaticAKCredentialsProvider(
            access_key_id=ACCESS_KEY_ID, access_key_secret=ACCESS_KEY_SECRET
        ),
        role_arn=ROLE_ARN,
        role_session_name="compat-role",
        sts_endpoint=front.address,
    )
    credentials = provider.get_credentials()
    assert front.connections >= 1
    assert_issued_key_works(emulator, credentials, "from-role")
