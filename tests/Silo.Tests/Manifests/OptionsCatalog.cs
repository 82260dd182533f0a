using System.Collections;
using System.Reflection;

namespace StarKv.Silo.Tests.Manifests;

/// <summary>
/// The options classes of the programs: every type in the StarKv assemblies beside the tests that declares a
/// <c>const string Section</c> (or <c>SectionName</c>) of <c>StarKv</c> or under it. A configuration key binds to a
/// public settable property of such a class, or, for list sections (<c>StarKv:Tenants:*:Id</c>), to a property of
/// the list's element type.
/// </summary>
internal sealed class OptionsCatalog
{
    private readonly Dictionary<string, List<Type>> _bySection;

    private OptionsCatalog(Dictionary<string, List<Type>> bySection) => _bySection = bySection;

    public IReadOnlyDictionary<string, List<Type>> Sections => _bySection;

    public static OptionsCatalog FromAssembliesBesideTests()
    {
        var bySection = new Dictionary<string, List<Type>>(StringComparer.OrdinalIgnoreCase);
        foreach (var assembly in StarKvAssemblies())
        {
            foreach (var type in LoadableTypes(assembly))
            {
                var section = SectionOf(type);
                if (section is not null && (section.Equals("StarKv", StringComparison.OrdinalIgnoreCase) || section.StartsWith("StarKv:", StringComparison.OrdinalIgnoreCase)))
                {
                    if (!bySection.TryGetValue(section, out var types))
                    {
                        bySection[section] = types = [];
                    }

                    types.Add(type);
                }
            }
        }

        return new OptionsCatalog(bySection);
    }

    /// <summary>The section part of a key: <c>StarKv:Model:Device</c> → <c>StarKv:Model</c>.</summary>
    public static string SectionOfKey(string key) => string.Join(':', key.Split(':').Take(2));

    /// <summary>
    /// Whether code binds the key's section: a class declares exactly that section, or a class of an enclosing
    /// section (<c>StarKv</c>) has a property for it (<c>Tenants</c>).
    /// </summary>
    public bool HasSection(string key) =>
        _bySection.ContainsKey(SectionOfKey(key))
        || Candidates(key).Any(c => c.Path.Length > 0 && c.Type.GetProperty(c.Path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not null);

    /// <summary>The property a key binds to, or <c>null</c> when no options class has one.</summary>
    public PropertyInfo? Resolve(string key) =>
        Candidates(key).Select(c => Resolve(c.Type, c.Path)).FirstOrDefault(p => p is not null);

    private IEnumerable<(Type Type, string[] Path)> Candidates(string key)
    {
        var segments = key.Split(':');
        for (var length = segments.Length - 1; length >= 1; length--)
        {
            if (_bySection.TryGetValue(string.Join(':', segments.Take(length)), out var types))
            {
                foreach (var type in types)
                {
                    yield return (type, segments[length..]);
                }
            }
        }
    }

    private static PropertyInfo? Resolve(Type type, string[] path)
    {
        if (path.Length == 0)
        {
            return null;
        }

        if (path[0] == "*")
        {
            // The section's class is the list element itself (Tenants → TenantOptions with Id, ...).
            return Resolve(type, path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null)
        {
            // The section's class wraps the list: TenantsOptions { List<Tenant> Tenants }.
            return path.Length > 1 && path[1] == "*" ? null : type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => ElementType(p.PropertyType))
                .Where(e => e is not null)
                .Select(e => Resolve(e!, path))
                .FirstOrDefault(p => p is not null);
        }

        if (path.Length == 1)
        {
            return property;
        }

        var next = path[1] == "*" ? ElementType(property.PropertyType) : property.PropertyType;
        return next is null ? null : Resolve(next, path[1] == "*" ? path[2..] : path[1..]);
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var enumerable = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static string? SectionOf(Type type)
    {
        foreach (var name in new[] { "Section", "SectionName" })
        {
            var field = type.GetField(name, BindingFlags.Public | BindingFlags.Static);
            if (field is { IsLiteral: true } && field.FieldType == typeof(string))
            {
                return (string?)field.GetRawConstantValue();
            }
        }

        return null;
    }

    private static IEnumerable<Assembly> StarKvAssemblies()
    {
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "StarKv.*.dll").Order(StringComparer.Ordinal))
        {
            var name = AssemblyName.GetAssemblyName(file);
            if (name.Name is null || name.Name.EndsWith(".Tests", StringComparison.Ordinal))
            {
                continue;
            }

            yield return Assembly.Load(name);
        }
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.Where(t => t is not null)!;
        }
    }
}
