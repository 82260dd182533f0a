using System.Globalization;
using System.Text.Json;
using StarKv.Eval.Core.Benchmarks;

namespace StarKv.Eval.Core.Loaders;

/// <summary>Field access on benchmark JSON that fails with a <see cref="DatasetLayoutException"/> naming the file, record and field.</summary>
internal static class JsonFields
{
    public static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new DatasetLayoutException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public static JsonElement Array(JsonElement root, string where)
    {
        return root.ValueKind == JsonValueKind.Array ? root : throw new DatasetLayoutException($"{where}: expected a top-level JSON array, found {root.ValueKind}.");
    }

    public static JsonElement Required(JsonElement element, string name, string where)
    {
        return element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new DatasetLayoutException($"{where}: the field '{name}' is missing.");
    }

    public static JsonElement? Optional(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string String(JsonElement element, string name, string where)
    {
        var value = Required(element, name, where);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new DatasetLayoutException($"{where}: the field '{name}' must be a string, found {value.ValueKind}.");
    }

    public static string OptionalString(JsonElement element, string name) =>
        Optional(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString()! : "";

    public static double Number(JsonElement element, string name, string where) => AsNumber(Required(element, name, where), $"{where}: field '{name}'");

    public static double? OptionalNumber(JsonElement element, string name, string where) =>
        Optional(element, name) is { } value ? AsNumber(value, $"{where}: field '{name}'") : null;

    public static double AsNumber(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new DatasetLayoutException($"{what} must be a number, found {value.ValueKind}."),
    };

    public static double[] Numbers(JsonElement element, string name, int count, string where)
    {
        var value = Required(element, name, where);
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != count)
        {
            throw new DatasetLayoutException($"{where}: the field '{name}' must be an array of {count} numbers.");
        }

        return value.EnumerateArray().Select(v => AsNumber(v, $"{where}: field '{name}'")).ToArray();
    }

    public static bool OptionalBool(JsonElement element, string name) =>
        Optional(element, name) is { } value && value.ValueKind == JsonValueKind.True;

    public static IReadOnlyList<string> Strings(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ToString()).ToArray()
            : [];
}

/// <summary>Checks that a layout's files exist before anything runs.</summary>
internal static class LayoutChecks
{
    public static void RequireFolder(string folder, string benchmark)
    {
        if (!Directory.Exists(folder))
        {
            throw new DatasetLayoutException($"The {benchmark} data folder {folder} does not exist.");
        }
    }

    /// <summary>Throws naming the first missing screenshot and how many are missing.</summary>
    public static void RequireImages(IEnumerable<string> paths, string benchmark, string expected)
    {
        var missing = paths.Distinct(StringComparer.Ordinal).Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new DatasetLayoutException(
                $"{benchmark}: {missing.Count} screenshot(s) are missing, the first is {missing[0]} ({expected}).");
        }
    }
}
