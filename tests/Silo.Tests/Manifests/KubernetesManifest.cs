using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>One YAML document of a manifest file, as nested maps, lists and strings.</summary>
internal sealed record KubernetesManifest(string File, string Kind, string Name, IDictionary<object, object> Root)
{
    public override string ToString() => $"{Kind}/{Name} ({File})";

    /// <summary>Parses every document of every <c>*.yaml</c> file under <paramref name="folder"/>.</summary>
    public static IReadOnlyList<KubernetesManifest> LoadFolder(string folder)
    {
        var manifests = new List<KubernetesManifest>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            manifests.AddRange(Parse(Path.GetRelativePath(folder, file), System.IO.File.ReadAllText(file)));
        }

        return manifests;
    }

    /// <summary>Parses the documents of one YAML text; empty documents are skipped.</summary>
    public static IReadOnlyList<KubernetesManifest> Parse(string file, string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<KubernetesManifest>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var root = deserializer.Deserialize<object?>(parser);
            if (root is null)
            {
                continue;
            }

            if (root is not IDictionary<object, object> map)
            {
                throw new InvalidDataException($"{file}: a document is not a mapping.");
            }

            var kind = Yaml.Str(map, "kind") ?? throw new InvalidDataException($"{file}: a document has no kind.");
            var name = Yaml.Str(map, "metadata", "name") ?? (kind == "Kustomization" ? "kustomization" : throw new InvalidDataException($"{file}: a {kind} has no metadata.name."));
            documents.Add(new KubernetesManifest(file, kind, name, map));
        }

        return documents;
    }
}

/// <summary>Navigation over the untyped YAML tree (maps of objects, lists of objects, scalar strings).</summary>
internal static class Yaml
{
    public static object? Get(object? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not IDictionary<object, object> map || !map.TryGetValue(key, out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? Str(object? node, params string[] path) => Get(node, path) as string;

    public static IDictionary<object, object>? Map(object? node, params string[] path) => Get(node, path) as IDictionary<object, object>;

    public static IEnumerable<object> Seq(object? node, params string[] path) => Get(node, path) as IList<object> ?? [];
}
