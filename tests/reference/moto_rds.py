"""RDS databases in a running moto_server, and the policy AWS documents for one.

    python3 moto_rds.py setup URL REGION [REGION ...]
        Creates, in each region, a PostgreSQL instance with IAM authentication
        on (pg-iam) and, in the first region, a MySQL instance with it off
        (my-noiam), an Aurora PostgreSQL cluster with it on (aur) and a member
        instance (aur-1), an Aurora MySQL cluster with it off (aur-off), and an
        RDS Proxy that requires IAM authentication (px). Then prints what moto
        says about them, read back with DescribeDBInstances, DescribeDBClusters,
        DescribeDBProxies and GetCallerIdentity, one endpoint a line:

            REGION KIND NAME ADDRESS RESOURCE-ID IAM-ON
            account ACCOUNT

        where RESOURCE-ID is what rds-db:connect is granted on: the instance's
        DbiResourceId, the cluster's DbClusterResourceId (for a member
        instance too), or the id at the end of the proxy's ARN.

    python3 moto_rds.py policy REGION ACCOUNT RESOURCE-ID USER [USER ...]
        Prints the policy document of the AWS guides for those users, as the
        AWS CLI prints JSON (json.dumps, indent=4), the partition from
        botocore's own region data.
"""

import json
import sys

import boto3
import botocore.session

KEYS = dict(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")


def client(service, url, region):
    return boto3.client(service, endpoint_url=url, region_name=region, **KEYS)


def setup(url, regions):
    for n, region in enumerate(regions):
        rds = client("rds", url, region)
        rds.create_db_instance(
            DBInstanceIdentifier="pg-iam", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="master", MasterUserPassword="password1", AllocatedStorage=20,
            EnableIAMDatabaseAuthentication=True)
        if n == 0:
            rds.create_db_instance(
                DBInstanceIdentifier="my-noiam", Engine="mysql", DBInstanceClass="db.t3.micro",
                MasterUsername="master", MasterUserPassword="password1", AllocatedStorage=20)
            rds.create_db_cluster(
                DBClusterIdentifier="aur", Engine="aurora-postgresql", MasterUsername="master",
                MasterUserPassword="password1", EnableIAMDatabaseAuthentication=True)
            rds.create_db_instance(
                DBInstanceIdentifier="aur-1", DBClusterIdentifier="aur",
                Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
            rds.create_db_cluster(
                DBClusterIdentifier="aur-off", Engine="aurora-mysql", MasterUsername="master",
                MasterUserPassword="password1")
            ec2 = client("ec2", url, region)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [
                ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                  AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
                for i, zone in ((1, "a"), (2, "b"))
            ]
            rds.create_db_proxy(
                DBProxyName="px", EngineFamily="POSTGRESQL",
                Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "REQUIRED",
                       "SecretArn": f"arn:aws:secretsmanager:{region}:123456789012:secret:px"}],
                RoleArn="arn:aws:iam::123456789012:role/px", VpcSubnetIds=subnets)

        clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
        for db in rds.describe_db_instances()["DBInstances"]:
            cluster = clusters.get(db.get("DBClusterIdentifier"))
            resource_id = cluster["DbClusterResourceId"] if cluster else db["DbiResourceId"]
            iam = (cluster or db).get("IAMDatabaseAuthenticationEnabled", False)
            print(region, "instance", db["DBInstanceIdentifier"], db["Endpoint"]["Address"],
                  resource_id, str(iam).lower())
        for c in clusters.values():
            iam = str(c.get("IAMDatabaseAuthenticationEnabled", False)).lower()
            print(region, "writer", c["DBClusterIdentifier"], c["Endpoint"],
                  c["DbClusterResourceId"], iam)
            print(region, "reader", c["DBClusterIdentifier"], c["ReaderEndpoint"],
                  c["DbClusterResourceId"], iam)
        for p in rds.describe_db_proxies()["DBProxies"]:
            iam = any(a.get("IAMAuth") in ("REQUIRED", "ENABLED") for a in p["Auth"])
            print(region, "proxy", p["DBProxyName"], p["Endpoint"],
                  p["DBProxyArn"].rsplit(":", 1)[1], str(iam).lower())
    print("account", client("sts", url, regions[0]).get_caller_identity()["Account"])


def policy(region, account, resource_id, users):
    partition = botocore.session.get_session().get_partition_for_region(region)
    arns = [f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{u}" for u in users]
    document = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": arns[0] if len(arns) == 1 else arns,
        }],
    }
    print(json.dumps(document, indent=4, ensure_ascii=False))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "policy":
        policy(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
