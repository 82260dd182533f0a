using System.Globalization;
using System.Text.RegularExpressions;
using StarKv.Grains.Configuration;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>Which program a container runs, told by its image (<c>.../silo</c>, <c>.../gateway</c>).</summary>
internal enum StarKvProgram
{
    Other,
    Silo,
    Gateway,
}

/// <summary>One environment variable of a container, literal or taken from a secret or the downward API.</summary>
internal sealed record ContainerEnv(string Name, string? Value, string? SecretName, string? SecretKey, string? FieldPath, string Origin);

/// <summary>A container of a workload's pod template, with its pod spec and its effective environment.</summary>
internal sealed record WorkloadContainer(KubernetesManifest Workload, IDictionary<object, object> PodSpec, IDictionary<object, object> PodLabels, IDictionary<object, object> Container, StarKvProgram Program, IReadOnlyDictionary<string, ContainerEnv> Env)
{
    public string Name => Yaml.Str(Container, "name") ?? "?";

    public override string ToString() => $"{Workload} container {Name}";

    /// <summary>The value a configuration key takes in this container: its literal, or <paramref name="fallback"/>.</summary>
    public string? Setting(string key, string? fallback)
    {
        var variable = Env.Values.FirstOrDefault(e => string.Equals(ConfigurationKeys.FromEnvironmentVariable(e.Name), key, StringComparison.OrdinalIgnoreCase));
        return variable?.Value ?? fallback;
    }

    /// <summary>The number of a port given by number or by container port name.</summary>
    public int? ResolvePort(object? port)
    {
        if (port is string text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        var named = Yaml.Seq(Container, "ports").FirstOrDefault(p => Yaml.Str(p, "name") == port as string);
        return named is null ? null : int.Parse(Yaml.Str(named, "containerPort")!, CultureInfo.InvariantCulture);
    }

    public IReadOnlyList<int> ContainerPorts => Yaml.Seq(Container, "ports").Select(p => int.Parse(Yaml.Str(p, "containerPort")!, CultureInfo.InvariantCulture)).ToList();
}

/// <summary>
/// Checks a set of manifests against the programs' configuration: keys, values, ports, probes, references.
/// Every check adds a readable problem rather than throwing, so one run names everything that drifted.
/// </summary>
internal sealed partial class ManifestChecker
{
    private static readonly string[] WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "Job"];

    private readonly IReadOnlyList<KubernetesManifest> _manifests;
    private readonly OptionsCatalog _options;
    private readonly string _deployingDocs;
    private readonly List<string> _problems = [];

    /// <param name="manifests">Every document to check, with the objects the workloads refer to.</param>
    /// <param name="options">The options classes the keys must bind to.</param>
    /// <param name="deployingDocs">The README's "Deploying" section, where secrets not in the manifests must be named.</param>
    public ManifestChecker(IReadOnlyList<KubernetesManifest> manifests, OptionsCatalog options, string deployingDocs)
    {
        _manifests = manifests;
        _options = options;
        _deployingDocs = deployingDocs;
        Containers = manifests.Where(m => WorkloadKinds.Contains(m.Kind)).SelectMany(ContainersOf).ToList();
    }

    public IReadOnlyList<WorkloadContainer> Containers { get; }

    public IReadOnlyList<string> Problems => _problems;

    public ManifestChecker CheckConfigurationKeys()
    {
        foreach (var container in Containers.Where(c => c.Program != StarKvProgram.Other))
        {
            foreach (var variable in container.Env.Values)
            {
                var key = ConfigurationKeys.FromEnvironmentVariable(variable.Name);
                if (key is null)
                {
                    continue;
                }

                // Where an options class binds the section, the code decides; elsewhere the contract's key list does.
                var inContract = ConfigurationKeys.All.TryGetValue(key, out var type);
                if (_options.HasSection(key))
                {
                    var property = _options.Resolve(key);
                    if (property is null)
                    {
                        Problem($"{container}: {variable.Name} ({variable.Origin}) binds to no property of the options classes for {OptionsCatalog.SectionOfKey(key)}.");
                        continue;
                    }

                    type = property.PropertyType;
                }
                else if (!inContract)
                {
                    Problem($"{container}: {variable.Name} ({variable.Origin}) is not a configuration key of the programs ({key}).");
                    continue;
                }

                if (variable.Value is not null)
                {
                    CheckValue(container, variable, key, Nullable.GetUnderlyingType(type!) ?? type!);
                }
            }
        }

        return this;
    }

    public ManifestChecker CheckPorts()
    {
        foreach (var container in Containers)
        {
            var expected = container.Program switch
            {
                StarKvProgram.Silo => new[]
                {
                    (ConfigurationKeys.ClusterSiloPort, ConfigurationDefaults.SiloPort),
                    (ConfigurationKeys.ClusterGatewayPort, ConfigurationDefaults.GatewayPort),
                    (ConfigurationKeys.HealthPort, ConfigurationDefaults.HealthPort),
                },
                StarKvProgram.Gateway => new[]
                {
                    (ConfigurationKeys.GatewayGrpcPort, ConfigurationDefaults.GrpcPort),
                    (ConfigurationKeys.HealthPort, ConfigurationDefaults.HealthPort),
                },
                _ => [],
            };
            foreach (var (key, fallback) in expected)
            {
                var port = int.Parse(container.Setting(key, fallback.ToString(CultureInfo.InvariantCulture))!, CultureInfo.InvariantCulture);
                if (port != fallback)
                {
                    Problem($"{container}: {key} is {port}, not the contract's {fallback}.");
                }

                if (!container.ContainerPorts.Contains(port))
                {
                    Problem($"{container}: no containerPort {port} for {key}.");
                }
            }
        }

        foreach (var service in _manifests.Where(m => m.Kind == "Service"))
        {
            var selected = Containers.Where(c => Selects(Yaml.Map(service.Root, "spec", "selector"), c.PodLabels)).ToList();
            if (selected.Count == 0)
            {
                Problem($"{service}: its selector matches no workload.");
                continue;
            }

            foreach (var port in Yaml.Seq(service.Root, "spec", "ports"))
            {
                var target = Yaml.Get(port, "targetPort") ?? Yaml.Get(port, "port");
                if (!selected.Any(c => c.ResolvePort(target) is { } p && c.ContainerPorts.Contains(p)))
                {
                    Problem($"{service}: targetPort {target} is no container port of the pods it selects.");
                }
            }
        }

        var gatewayService = _manifests.Where(m => m.Kind == "Service")
            .Where(s => Containers.Any(c => c.Program == StarKvProgram.Gateway && Selects(Yaml.Map(s.Root, "spec", "selector"), c.PodLabels)))
            .SelectMany(s => Yaml.Seq(s.Root, "spec", "ports"))
            .Select(p => Yaml.Str(p, "port"))
            .ToList();
        if (Containers.Any(c => c.Program == StarKvProgram.Gateway) && !gatewayService.Contains(ConfigurationDefaults.GrpcPort.ToString(CultureInfo.InvariantCulture)))
        {
            Problem($"No Service exposes the gateway's gRPC port {ConfigurationDefaults.GrpcPort}.");
        }

        return this;
    }

    public ManifestChecker CheckProbes()
    {
        foreach (var container in Containers.Where(c => c.Program != StarKvProgram.Other))
        {
            var healthPort = int.Parse(container.Setting(ConfigurationKeys.HealthPort, ConfigurationDefaults.HealthPort.ToString(CultureInfo.InvariantCulture))!, CultureInfo.InvariantCulture);
            foreach (var (probe, path) in new[] { ("readinessProbe", ConfigurationDefaults.HealthReadinessPath), ("livenessProbe", ConfigurationDefaults.HealthLivenessPath), ("startupProbe", null) })
            {
                var get = Yaml.Map(container.Container, probe, "httpGet");
                if (get is null)
                {
                    if (probe != "startupProbe")
                    {
                        Problem($"{container}: no {probe} over HTTP.");
                    }

                    continue;
                }

                var actualPath = Yaml.Str(get, "path");
                if (path is null ? actualPath is not (ConfigurationDefaults.HealthLivenessPath or ConfigurationDefaults.HealthReadinessPath) : actualPath != path)
                {
                    Problem($"{container}: {probe} asks {actualPath}, not {path ?? "a health path"}.");
                }

                if (container.ResolvePort(Yaml.Get(get, "port")) != healthPort)
                {
                    Problem($"{container}: {probe} goes to port {Yaml.Get(get, "port")}, not the health port {healthPort}.");
                }
            }
        }

        return this;
    }

    public ManifestChecker CheckReferences()
    {
        bool Defined(string kind, string? name) => _manifests.Any(m => m.Kind == kind && m.Name == name);

        foreach (var container in Containers)
        {
            foreach (var secret in container.Env.Values.Where(e => e.SecretName is not null))
            {
                if (!Defined("Secret", secret.SecretName) && !SecretDocumented(secret.SecretName!, secret.SecretKey!))
                {
                    Problem($"{container}: secret {secret.SecretName} (key {secret.SecretKey}) for {secret.Name} is neither in k8s/ nor created in the README's Deploying section.");
                }
            }

            foreach (var from in Yaml.Seq(container.Container, "envFrom"))
            {
                var configMap = Yaml.Str(from, "configMapRef", "name");
                if (configMap is not null && !Defined("ConfigMap", configMap))
                {
                    Problem($"{container}: envFrom ConfigMap {configMap} is not defined.");
                }
            }

            var account = Yaml.Str(container.PodSpec, "serviceAccountName");
            if (account is not null && !Defined("ServiceAccount", account))
            {
                Problem($"{container}: ServiceAccount {account} is not defined.");
            }

            foreach (var volume in Yaml.Seq(container.PodSpec, "volumes"))
            {
                var claim = Yaml.Str(volume, "persistentVolumeClaim", "claimName");
                if (claim is not null && !Defined("PersistentVolumeClaim", claim))
                {
                    Problem($"{container}: PersistentVolumeClaim {claim} is not defined.");
                }

                var secretVolume = Yaml.Str(volume, "secret", "secretName");
                if (secretVolume is not null && !Defined("Secret", secretVolume) && !SecretVolumeDocumented(secretVolume))
                {
                    Problem($"{container}: volume secret {secretVolume} is neither in k8s/ nor created in the README's Deploying section.");
                }
            }

            // A file the program reads must be in a volume the container mounts.
            var volumes = Yaml.Seq(container.PodSpec, "volumes").Select(v => Yaml.Str(v, "name"))
                .Concat(Yaml.Seq(container.Workload.Root, "spec", "volumeClaimTemplates").Select(t => Yaml.Str(t, "metadata", "name")))
                .ToHashSet();
            var mounts = Yaml.Seq(container.Container, "volumeMounts").ToList();
            foreach (var mount in mounts.Where(m => !volumes.Contains(Yaml.Str(m, "name"))))
            {
                Problem($"{container}: volumeMount {Yaml.Str(mount, "name")} names no volume of the pod.");
            }

            foreach (var key in new[] { ConfigurationKeys.GatewayTlsCertificatePath, ConfigurationKeys.GatewayTlsKeyPath, ConfigurationKeys.ModelPath })
            {
                var path = container.Setting(key, null);
                if (!string.IsNullOrEmpty(path) && !mounts.Any(m => Yaml.Str(m, "mountPath") is { } at && path.StartsWith(at.TrimEnd('/') + "/", StringComparison.Ordinal)))
                {
                    Problem($"{container}: {key} is {path}, under no volumeMount of the container.");
                }
            }
        }

        foreach (var binding in _manifests.Where(m => m.Kind == "RoleBinding"))
        {
            if (!Defined(Yaml.Str(binding.Root, "roleRef", "kind") ?? "Role", Yaml.Str(binding.Root, "roleRef", "name")))
            {
                Problem($"{binding}: its role {Yaml.Str(binding.Root, "roleRef", "name")} is not defined.");
            }
        }

        return this;
    }

    public ManifestChecker CheckKustomization(string folder)
    {
        var kustomization = _manifests.SingleOrDefault(m => m.Kind == "Kustomization");
        if (kustomization is null)
        {
            Problem("No kustomization.yaml.");
            return this;
        }

        var listed = Yaml.Seq(kustomization.Root, "resources").Cast<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var file in _manifests.Select(m => m.File).Distinct().Where(f => f != kustomization.File))
        {
            if (!listed.Contains(file.Replace('\\', '/')))
            {
                Problem($"{file} is not among kustomization.yaml's resources.");
            }
        }

        foreach (var resource in listed.Where(r => !File.Exists(Path.Combine(folder, r))))
        {
            Problem($"kustomization.yaml lists {resource}, which does not exist.");
        }

        return this;
    }

    /// <summary>Silos: GPU, Orleans Kubernetes hosting (downward API, labels, RBAC), drain, disruption budget.</summary>
    public ManifestChecker CheckSilos()
    {
        foreach (var silo in Containers.Where(c => c.Program == StarKvProgram.Silo))
        {
            if (Yaml.Str(silo.Container, "resources", "limits", "nvidia.com/gpu") != "1")
            {
                Problem($"{silo}: does not limit nvidia.com/gpu to 1.");
            }

            if (Yaml.Map(silo.PodSpec, "nodeSelector") is not { Count: > 0 } && Yaml.Get(silo.PodSpec, "affinity", "nodeAffinity") is null)
            {
                Problem($"{silo}: no node selector or node affinity for GPU nodes.");
            }

            if (!Yaml.Seq(silo.PodSpec, "tolerations").Any(t => Yaml.Str(t, "key") == "nvidia.com/gpu"))
            {
                Problem($"{silo}: no toleration for the nvidia.com/gpu taint.");
            }

            if (string.Equals(silo.Setting(ConfigurationKeys.ModelDevice, "cpu"), "cpu", StringComparison.OrdinalIgnoreCase))
            {
                Problem($"{silo}: runs on a GPU node but {ConfigurationKeys.ModelDevice} is cpu.");
            }

            if (bool.TryParse(silo.Setting(ConfigurationKeys.ClusterKubernetes, "false"), out var kubernetes) && kubernetes)
            {
                CheckKubernetesHosting(silo);
            }

            var grace = int.Parse(Yaml.Str(silo.PodSpec, "terminationGracePeriodSeconds") ?? "30", CultureInfo.InvariantCulture);
            if (grace < 120)
            {
                Problem($"{silo}: terminationGracePeriodSeconds {grace} leaves too little time to checkpoint and migrate sessions (at least 120).");
            }

            if (silo.Env.TryGetValue("DOTNET_shutdownTimeoutSeconds", out var shutdown) && int.Parse(shutdown.Value!, CultureInfo.InvariantCulture) >= grace)
            {
                Problem($"{silo}: the host's shutdown timeout {shutdown.Value}s is not inside the grace period {grace}s.");
            }

            if (!_manifests.Any(m => m.Kind == "PodDisruptionBudget" && Selects(Yaml.Map(m.Root, "spec", "selector", "matchLabels"), silo.PodLabels)))
            {
                Problem($"{silo}: no PodDisruptionBudget selects the silos.");
            }
        }

        return this;
    }

    private void CheckKubernetesHosting(WorkloadContainer silo)
    {
        foreach (var (variable, fieldPath) in new[] { ("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("POD_IP", "status.podIP") })
        {
            if (!silo.Env.TryGetValue(variable, out var env) || env.FieldPath != fieldPath)
            {
                Problem($"{silo}: Kubernetes hosting needs {variable} from the downward API ({fieldPath}).");
            }
        }

        foreach (var (label, key, variable, fallback) in new[]
        {
            ("orleans/serviceId", ConfigurationKeys.ClusterServiceId, "ORLEANS_SERVICE_ID", ConfigurationDefaults.ServiceId),
            ("orleans/clusterId", ConfigurationKeys.ClusterClusterId, "ORLEANS_CLUSTER_ID", ConfigurationDefaults.ClusterId),
        })
        {
            var configured = silo.Setting(key, fallback);
            if (!silo.PodLabels.TryGetValue(label, out var value) || (string)value != configured)
            {
                Problem($"{silo}: pod label {label} must equal {key} ({configured}).");
            }

            if (silo.Env.TryGetValue(variable, out var env) && env.FieldPath != $"metadata.labels['{label}']" && env.Value != configured)
            {
                Problem($"{silo}: {variable} must equal {key} ({configured}).");
            }
        }

        var account = Yaml.Str(silo.PodSpec, "serviceAccountName");
        var roles = _manifests.Where(m => m.Kind == "RoleBinding" && Yaml.Seq(m.Root, "subjects").Any(s => Yaml.Str(s, "kind") == "ServiceAccount" && Yaml.Str(s, "name") == account))
            .Select(b => _manifests.FirstOrDefault(m => m.Kind == Yaml.Str(b.Root, "roleRef", "kind") && m.Name == Yaml.Str(b.Root, "roleRef", "name")))
            .Where(r => r is not null);
        var verbs = roles.SelectMany(r => Yaml.Seq(r!.Root, "rules"))
            .Where(rule => Yaml.Seq(rule, "resources").Contains("pods"))
            .SelectMany(rule => Yaml.Seq(rule, "verbs").Cast<string>())
            .ToHashSet(StringComparer.Ordinal);
        foreach (var verb in new[] { "get", "list", "watch", "patch" }.Where(v => !verbs.Contains(v)))
        {
            Problem($"{silo}: ServiceAccount {account ?? "default"} may not {verb} pods, which Orleans Kubernetes hosting does.");
        }
    }

    private void CheckValue(WorkloadContainer container, ContainerEnv variable, string key, Type type)
    {
        var value = variable.Value!;
        var valid = type == typeof(string) || type.IsEnum
            || (type == typeof(int) && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            || (type == typeof(long) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            || (type == typeof(double) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            || (type == typeof(bool) && bool.TryParse(value, out _))
            || (type == typeof(TimeSpan) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _))
            || (type == typeof(Uri) && (value.Length == 0 || Uri.TryCreate(value, UriKind.Absolute, out _)));
        if (type.IsEnum && !Enum.TryParse(type, value, ignoreCase: true, out _))
        {
            valid = false;
        }

        if (!valid)
        {
            Problem($"{container}: {variable.Name}='{value}' is not a {type.Name}.");
        }

        if (ConfigurationKeys.AllowedValues.TryGetValue(key, out var allowed) && !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
        {
            Problem($"{container}: {variable.Name}='{value}' is not one of {string.Join(", ", allowed)}.");
        }

        if (string.Equals(key, ConfigurationKeys.ModelDevice, StringComparison.OrdinalIgnoreCase) && !DevicePattern().IsMatch(value))
        {
            Problem($"{container}: {variable.Name}='{value}' is not cpu, cuda or cuda:N.");
        }
    }

    private bool SecretVolumeDocumented(string name) =>
        Regex.IsMatch(_deployingDocs, $@"create secret (tls|generic) {Regex.Escape(name)}\b");

    private bool SecretDocumented(string name, string key) =>
        _deployingDocs.Contains($"secret generic {name}", StringComparison.Ordinal)
        && Regex.IsMatch(_deployingDocs, $@"secret generic {Regex.Escape(name)}\b[^\n]*(\\\n[^\n]*)*--from-(literal|file)={Regex.Escape(key)}=");

    private static bool Selects(IDictionary<object, object>? selector, IDictionary<object, object> labels) =>
        selector is { Count: > 0 } && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && Equals(value, pair.Value));

    private IEnumerable<WorkloadContainer> ContainersOf(KubernetesManifest workload)
    {
        var template = Yaml.Map(workload.Root, "spec", "template");
        var podSpec = Yaml.Map(template, "spec") ?? new Dictionary<object, object>();
        var labels = Yaml.Map(template, "metadata", "labels") ?? new Dictionary<object, object>();
        foreach (var container in Yaml.Seq(podSpec, "containers").Cast<IDictionary<object, object>>())
        {
            var image = Yaml.Str(container, "image") ?? "";
            var repository = image.Split(':')[0];
            var program = repository.EndsWith("/silo", StringComparison.Ordinal) ? StarKvProgram.Silo
                : repository.EndsWith("/gateway", StringComparison.Ordinal) ? StarKvProgram.Gateway
                : StarKvProgram.Other;
            yield return new WorkloadContainer(workload, podSpec, labels, container, program, EnvironmentOf(workload, container));
        }
    }

    private Dictionary<string, ContainerEnv> EnvironmentOf(KubernetesManifest workload, IDictionary<object, object> container)
    {
        var env = new Dictionary<string, ContainerEnv>(StringComparer.Ordinal);
        foreach (var from in Yaml.Seq(container, "envFrom"))
        {
            var configMap = Yaml.Str(from, "configMapRef", "name");
            var data = _manifests.FirstOrDefault(m => m.Kind == "ConfigMap" && m.Name == configMap);
            foreach (var pair in Yaml.Map(data?.Root, "data") ?? new Dictionary<object, object>())
            {
                env[(string)pair.Key] = new ContainerEnv((string)pair.Key, pair.Value as string ?? "", null, null, null, $"ConfigMap {configMap}");
            }
        }

        foreach (var item in Yaml.Seq(container, "env"))
        {
            var name = Yaml.Str(item, "name")!;
            env[name] = new ContainerEnv(
                name,
                Yaml.Get(item, "value") is null && Yaml.Get(item, "valueFrom") is not null ? null : Yaml.Str(item, "value") ?? "",
                Yaml.Str(item, "valueFrom", "secretKeyRef", "name"),
                Yaml.Str(item, "valueFrom", "secretKeyRef", "key"),
                Yaml.Str(item, "valueFrom", "fieldRef", "fieldPath"),
                $"{workload.File} env");
        }

        return env;
    }

    private void Problem(string problem) => _problems.Add(problem);

    [GeneratedRegex("^(cpu|cuda|cuda:[0-9]+)$", RegexOptions.IgnoreCase)]
    private static partial Regex DevicePattern();
}
