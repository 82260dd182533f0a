using k8s;
using k8s.Models;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>
/// Reads every manifest (but the kustomization) into the Kubernetes client's typed models with unknown fields
/// refused, so a misspelt or misplaced field fails here rather than at <c>kubectl apply</c>.
/// </summary>
public sealed class KubernetesSchemaTests
{
    private static readonly string K8sFolder = Path.Combine(RepositoryRoot.Path, "k8s");

    [Fact]
    public void Every_manifest_deserializes_strictly_into_Kubernetes_models()
    {
        var objects = new List<object>();
        foreach (var file in Directory.EnumerateFiles(K8sFolder, "*.yaml", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "kustomization.yaml"))
        {
            var text = File.ReadAllText(file);
            var loaded = KubernetesYaml.LoadAllFromString(text, typeMap: null, strict: true);
            Assert.True(loaded.Count > 0, $"{file} holds no Kubernetes object.");
            objects.AddRange(loaded);
        }

        var silo = Assert.Single(objects.OfType<V1StatefulSet>(), s => s.Metadata.Name == "starkv-silo");
        var container = Assert.Single(silo.Spec.Template.Spec.Containers);
        Assert.Equal("1", container.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal(600, silo.Spec.Template.Spec.TerminationGracePeriodSeconds);
        Assert.Single(objects.OfType<V1Deployment>(), d => d.Metadata.Name == "starkv-gateway");
        Assert.Equal(2, objects.OfType<V1PodDisruptionBudget>().Count());
        Assert.Single(objects.OfType<V1Role>());
    }

    [Fact]
    public void A_misspelt_field_is_refused()
    {
        const string Misspelt = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: x
            spec:
              template:
                spec:
                  terminationGracePeriodSecond: 30
                  containers: []
            """;

        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(Misspelt, typeMap: null, strict: true));
        Assert.Single(KubernetesYaml.LoadAllFromString(Misspelt, typeMap: null, strict: false));
    }
}
