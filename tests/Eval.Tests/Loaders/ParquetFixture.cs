using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace StarKv.Eval.Tests.Loaders;

/// <summary>Writes the AgentNetBench JSON fixture as Parquet: one row per step, the trajectory JSON on each task's first row (empty on the others), the screenshot as a Hugging Face Image struct.</summary>
internal static class ParquetFixture
{
    public static async Task WriteAsync(string jsonFolder, string parquetPath)
    {
        var trajectories = new List<string>();
        var paths = new List<string>();
        var bytes = new List<byte[]>();
        foreach (var file in Directory.GetFiles(jsonFolder, "s_*.json").Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(file);
            using var document = JsonDocument.Parse(text);
            var first = true;
            foreach (var step in document.RootElement.GetProperty("steps").EnumerateArray())
            {
                var image = step.GetProperty("image").GetString()!;
                trajectories.Add(first ? text : ""); // other rows of a task leave it empty
                paths.Add(image);
                bytes.Add(File.ReadAllBytes(Path.Combine(jsonFolder, "images", image)));
                first = false;
            }
        }

        var trajectoryField = new DataField<string>("trajectory", true);
        var bytesField = new DataField<byte[]>("bytes", true);
        var pathField = new DataField<string>("path", true);
        var schema = new ParquetSchema(trajectoryField, new StructField("image", bytesField, pathField));
        await using var stream = File.Create(parquetPath);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(trajectoryField, trajectories);
        await group.WriteAsync(bytesField, bytes);
        await group.WriteAsync(pathField, paths);
    }
}
