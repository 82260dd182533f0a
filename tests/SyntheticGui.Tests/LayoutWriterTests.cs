using System.Text.Json;
using SkiaSharp;
using StarKv.SyntheticGui.Layout;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.SyntheticGui.Tests;

public sealed class LayoutWriterTests
{
    [Fact]
    public void The_synthetic_layout_holds_the_manifest_one_line_per_task_and_every_image()
    {
        var root = Path.Combine(Path.GetTempPath(), "starkv-synthetic-" + Guid.NewGuid().ToString("N"));
        try
        {
            var tasks = SyntheticLayoutWriter.Write(root, SuiteSplit.Test, 12, new SuiteOptions());
            using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, SyntheticLayoutWriter.ManifestFileName)));
            Assert.Equal("starkv-synthetic", manifest.RootElement.GetProperty("format").GetString());
            Assert.Equal(1, manifest.RootElement.GetProperty("version").GetInt32());
            Assert.Equal("test", manifest.RootElement.GetProperty("split").GetString());
            Assert.Equal(12, manifest.RootElement.GetProperty("count").GetInt32());
            var lines = File.ReadAllLines(Path.Combine(root, SyntheticLayoutWriter.TasksFileName));
            Assert.Equal(12, lines.Length);
            for (var i = 0; i < lines.Length; i++)
            {
                using var line = JsonDocument.Parse(lines[i]);
                var task = line.RootElement;
                Assert.Equal(tasks[i].Id, task.GetProperty("id").GetString());
                Assert.Equal(tasks[i].Kind.ToString().ToLowerInvariant(), task.GetProperty("kind").GetString());
                var steps = task.GetProperty("steps").EnumerateArray().ToList();
                Assert.Equal(tasks[i].Steps.Count, steps.Count);
                for (var s = 0; s < steps.Count; s++)
                {
                    var path = Path.Combine(root, steps[s].GetProperty("image").GetString()!);
                    using var bitmap = SKBitmap.Decode(path);
                    Assert.Equal(steps[s].GetProperty("width").GetInt32(), bitmap.Width);
                    Assert.Equal(steps[s].GetProperty("height").GetInt32(), bitmap.Height);
                    var action = steps[s].GetProperty("action");
                    Assert.Equal(tasks[i].Steps[s].Expected.Verb, action.GetProperty("type").GetString());
                    if (tasks[i].Steps[s].Expected is ClickExpected click)
                    {
                        Assert.Equal([click.Box.X1, click.Box.Y1, click.Box.X2, click.Box.Y2], action.GetProperty("box").EnumerateArray().Select(v => v.GetInt32()));
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
