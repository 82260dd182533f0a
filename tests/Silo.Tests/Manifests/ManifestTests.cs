using StarKv.Grains.Configuration;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>
/// Parses every manifest under <c>k8s/</c> and checks it against what the programs read: configuration keys (the
/// contract in <see cref="ConfigurationKeys"/> and the options classes that bind it), ports, probes, secrets and
/// the other objects the workloads refer to. A synthetic bad manifest shows each check can fail.
/// </summary>
public sealed class ManifestTests
{
    private static readonly string K8sFolder = Path.Combine(RepositoryRoot.Path, "k8s");
    private static readonly Lazy<OptionsCatalog> Options = new(OptionsCatalog.FromAssembliesBesideTests);

    private static string DeployingSection()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md"));
        var start = readme.IndexOf("\n## Deploying", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Deploying' section.");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }

    private static ManifestChecker Repository() =>
        new(KubernetesManifest.LoadFolder(K8sFolder), Options.Value, DeployingSection());

    [Fact]
    public void Manifests_parse_and_hold_a_silo_a_gateway_and_a_kustomization_that_lists_them()
    {
        var checker = Repository().CheckKustomization(K8sFolder);

        Assert.Empty(checker.Problems);
        Assert.Contains(checker.Containers, c => c.Program == StarKvProgram.Silo && c.Workload.Kind == "StatefulSet");
        Assert.Contains(checker.Containers, c => c.Program == StarKvProgram.Gateway && c.Workload.Kind == "Deployment");
    }

    [Fact]
    public void Every_StarKv_environment_variable_is_a_configuration_key_with_a_valid_value()
    {
        var checker = Repository().CheckConfigurationKeys();

        Assert.Empty(checker.Problems);
        var silo = checker.Containers.Single(c => c.Program == StarKvProgram.Silo);
        Assert.Equal("redis", silo.Setting(ConfigurationKeys.ClusterClustering, null));
        Assert.Equal("azureblob", silo.Setting(ConfigurationKeys.StorageKind, null));
        Assert.Equal("folder", silo.Setting(ConfigurationKeys.ModelSource, null));
        Assert.Equal("true", silo.Setting(ConfigurationKeys.ClusterKubernetes, null));
        Assert.Equal("starkv-azure-blob", silo.Env["StarKv__Storage__AzureBlobConnectionString"].SecretName);
        Assert.Equal("starkv-redis", silo.Env["StarKv__Cluster__RedisConnectionString"].SecretName);
        var gateway = checker.Containers.Single(c => c.Program == StarKvProgram.Gateway);
        Assert.Equal("/etc/starkv/tls/tls.crt", gateway.Setting(ConfigurationKeys.GatewayTlsCertificatePath, null));
        Assert.Equal("/etc/starkv/tls/tls.key", gateway.Setting(ConfigurationKeys.GatewayTlsKeyPath, null));
    }

    [Fact]
    public void Ports_probes_references_and_silo_hosting_agree_with_the_programs()
    {
        var checker = Repository().CheckPorts().CheckProbes().CheckReferences().CheckSilos();

        Assert.Empty(checker.Problems);
    }

    [Fact]
    public void Configuration_keys_bind_to_the_options_classes_that_exist()
    {
        var options = Options.Value;
        var unbound = ConfigurationKeys.All.Keys
            .Where(options.HasSection)
            .Where(key => options.Resolve(key) is null)
            .ToList();

        Assert.Empty(unbound);
        Assert.NotNull(options.Resolve(ConfigurationKeys.TelemetryOtlpEndpoint));
        Assert.Equal(typeof(bool), options.Resolve(ConfigurationKeys.TelemetryConsole)!.PropertyType);
        Assert.Null(options.Resolve("StarKv:Telemetry:OtlpEndpointt"));

        // The options classes on main: the check reflects over them rather than over the key list alone.
        foreach (var key in new[] { ConfigurationKeys.ClusterSiloPort, ConfigurationKeys.CapacityKvBudgetBytes, ConfigurationKeys.GatewayGrpcPort, ConfigurationKeys.HealthPort, ConfigurationKeys.TenantApiKeySha256 })
        {
            Assert.True(options.HasSection(key), $"No options class binds {key}.");
        }

        Assert.Equal(typeof(long), options.Resolve(ConfigurationKeys.TenantMaxKvBytes)!.PropertyType);
    }

    [Fact]
    public void Environment_variable_names_map_to_keys()
    {
        Assert.Equal("StarKv:Model:Device", ConfigurationKeys.FromEnvironmentVariable("StarKv__Model__Device"));
        Assert.Equal("StarKv:Tenants:*:ApiKeySha256", ConfigurationKeys.FromEnvironmentVariable("StarKv__Tenants__12__ApiKeySha256"));
        Assert.Null(ConfigurationKeys.FromEnvironmentVariable("POD_NAME"));
        Assert.Null(ConfigurationKeys.FromEnvironmentVariable("STARKV_APP"));
    }

    [Fact]
    public void Drifted_manifests_are_caught()
    {
        const string Bad = """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata:
              name: silo
            spec:
              template:
                metadata:
                  labels:
                    app: silo
                    orleans/serviceId: other
                spec:
                  serviceAccountName: missing-account
                  terminationGracePeriodSeconds: 30
                  containers:
                    - name: silo
                      image: registry.example/starkv/silo:1
                      ports:
                        - name: health
                          containerPort: 9090
                      env:
                        - name: StarKv__Model__Devise
                          value: cuda
                        - name: StarKv__Model__Device
                          value: gpu
                        - name: StarKv__Cluster__Kubernetes
                          value: "true"
                        - name: StarKv__Capacity__KvBudgetBytes
                          value: lots
                        - name: StarKv__Cluster__SiloPort
                          value: "22222"
                        - name: StarKv__Telemetry__Consol
                          value: "true"
                        - name: StarKv__Tenants__0__MaxSesions
                          value: "3"
                        - name: StarKv__Storage__AzureBlobConnectionString
                          valueFrom:
                            secretKeyRef:
                              name: undocumented
                              key: connection-string
                        - name: StarKv__Gateway__TlsCertificatePath
                          value: /etc/tls/tls.crt
                      volumeMounts:
                        - name: certs
                          mountPath: /etc/certs
                      readinessProbe:
                        httpGet:
                          path: /health
                          port: health
                  volumes:
                    - name: certificate
                      secret:
                        secretName: undocumented-tls
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: silo
            spec:
              selector:
                app: silo
              ports:
                - port: 30000
            """;
        var checker = new ManifestChecker(KubernetesManifest.Parse("bad.yaml", Bad), Options.Value, DeployingSection())
            .CheckConfigurationKeys().CheckPorts().CheckProbes().CheckReferences().CheckSilos();

        string[] expected =
        [
            "StarKv__Model__Devise (bad.yaml env)",
            "StarKv__Model__Device='gpu' is not cpu, cuda or cuda:N",
            "StarKv__Capacity__KvBudgetBytes='lots' is not a Int64",
            "StarKv:Cluster:SiloPort is 22222, not the contract's 11111",
            "StarKv__Telemetry__Consol (bad.yaml env) binds to no property of the options classes for StarKv:Telemetry",
            "StarKv__Tenants__0__MaxSesions (bad.yaml env)",
            "no containerPort 22222",
            "no containerPort 30000",
            "targetPort 30000 is no container port",
            "readinessProbe asks /health, not /readyz",
            "readinessProbe goes to port health, not the health port 8081",
            "no livenessProbe",
            "secret undocumented (key connection-string)",
            "ServiceAccount missing-account is not defined",
            "volume secret undocumented-tls is neither in k8s/ nor created",
            "volumeMount certs names no volume of the pod",
            "StarKv:Gateway:TlsCertificatePath is /etc/tls/tls.crt, under no volumeMount",
            "does not limit nvidia.com/gpu to 1",
            "no toleration",
            "POD_NAME from the downward API",
            "pod label orleans/serviceId must equal",
            "may not watch pods",
            "terminationGracePeriodSeconds 30",
            "no PodDisruptionBudget",
        ];
        foreach (var problem in expected)
        {
            Assert.Contains(checker.Problems, p => p.Contains(problem, StringComparison.Ordinal));
        }
    }
}
