"""The server fixtures of conftest.py work: real clients talk to them over loopback."""

from __future__ import annotations

import uuid

import pytest


@pytest.mark.mariadb
def test_mariadb_server_accepts_the_yielded_credentials(mariadb_server):
    import pymysql

    assert mariadb_server["backend"] == "mysql"
    assert mariadb_server["host"] == "127.0.0.1"
    conn = pymysql.connect(
        host=mariadb_server["host"],
        port=mariadb_server["port"],
        user=mariadb_server["user"],
        password=mariadb_server["password"],
        connect_timeout=5,
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
            # Full privileges: it can create a database, a table, and drop them again.
            db = f"np_fixture_{uuid.uuid4().hex[:8]}"
            cur.execute(f"CREATE DATABASE `{db}`")
            cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, name VARCHAR(16))")
            cur.execute(f"INSERT INTO `{db}`.t VALUES (1, 'ünï')")
            cur.execute(f"SELECT name FROM `{db}`.t WHERE id = 1")
            assert cur.fetchone() == ("ünï",)
            cur.execute(f"DROP DATABASE `{db}`")
    finally:
        conn.close()


@pytest.mark.mariadb
def test_mariadb_server_refuses_a_wrong_password(mariadb_server):
    import pymysql

    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            host=mariadb_server["host"],
            port=mariadb_server["port"],
            user=mariadb_server["user"],
            password=mariadb_server["password"] + "-wrong",
            connect_timeout=5,
        )


def test_s3_endpoint_round_trip_with_s3fs(s3_endpoint):
    import s3fs

    assert s3_endpoint["protocol"] == "s3"
    assert s3_endpoint["secure"] is False
    fs = s3fs.S3FileSystem(
        key=s3_endpoint["access_key"],
        secret=s3_endpoint["secret_key"],
        client_kwargs={"endpoint_url": f"http://{s3_endpoint['endpoint']}"},
        use_listings_cache=False,
    )
    path = f"{s3_endpoint['bucket']}/{s3_endpoint['location']}/fixture-check/{uuid.uuid4().hex}"
    payload = bytes(range(256)) * 64
    fs.pipe(path, payload)
    assert fs.cat(path) == payload
    fs.rm(path)
    assert not fs.exists(path)


def test_s3_endpoint_bucket_is_listed_by_boto3(s3_endpoint):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{s3_endpoint['endpoint']}",
        aws_access_key_id=s3_endpoint["access_key"],
        aws_secret_access_key=s3_endpoint["secret_key"],
        region_name="us-east-1",
    )
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert s3_endpoint["bucket"] in names
    key = f"{s3_endpoint['location']}/boto3-check.txt"
    client.put_object(Bucket=s3_endpoint["bucket"], Key=key, Body=b"photon")
    body = client.get_object(Bucket=s3_endpoint["bucket"], Key=key)["Body"].read()
    assert body == b"photon"
