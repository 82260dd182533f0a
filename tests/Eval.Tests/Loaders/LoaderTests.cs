using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Loaders;

namespace StarKv.Eval.Tests.Loaders;

public sealed class LoaderTests
{
    private static Task<BenchmarkData> Load(string benchmark, string folder, BenchmarkSettings? settings = null) =>
        BenchmarkLoaders.Get(benchmark).LoadAsync(folder, settings ?? new BenchmarkSettings(), CancellationToken.None);

    [Fact]
    public async Task ScreenSpot_v2_reads_every_split_and_converts_xywh()
    {
        var data = await Load("screenspot-v2", TestData.Fixture("screenspot-v2"));
        Assert.Equal(6, data.Episodes.Count);
        Assert.Equal(["desktop", "mobile", "web"], data.Episodes.Select(e => e.Tag("platform")).Distinct().Order());
        var search = data.Episodes.Single(e => e.Steps[0].Instruction == "search bar");
        Assert.Equal(new BoxXyxy(314, 160, 1026, 255), ((ScreenSpotTruth)search.Steps[0].Truth).Box);
        Assert.Null(((ScreenSpotTruth)search.Steps[0].Truth).ImageWidth);
        Assert.Equal("", search.Task); // the instruction becomes the task prompt
        Assert.Equal(1, data.ReprefillScreenshots);
    }

    [Fact]
    public async Task ScreenSpot_Pro_reads_annotations_with_image_sizes_and_groups()
    {
        var data = await Load("screenspot-pro", TestData.Fixture("screenspot-pro"));
        Assert.Equal(4, data.Episodes.Count);
        var word = data.Episodes.Single(e => e.Id == "word_macos_0");
        Assert.Equal("Office", word.Tag("group"));
        Assert.Equal("text", word.Tag("ui_type"));
        Assert.Equal(new ScreenSpotTruth(new BoxXyxy(95, 256, 202, 370), 1708, 1556), word.Steps[0].Truth);
        Assert.True(File.Exists(word.Steps[0].Image.Description));
    }

    [Fact]
    public async Task AndroidControl_UGround_export_builds_teacher_forced_steps_with_elements()
    {
        var data = await Load("androidcontrol", TestData.Fixture("androidcontrol"), new BenchmarkSettings { AndroidLevel = AndroidInstructionLevel.Low });
        Assert.Equal(4, data.Episodes.Count);
        Assert.All(data.Episodes, e => Assert.Single(e.Steps));
        Assert.Equal("element-box", data.Grader.Name);
        var typing = data.Episodes.Single(e => e.Id == "101-1");
        Assert.Equal("Search for coffee shops in the wallet app", typing.Task);
        Assert.Equal("Previous actions:\nStep 1: Tap the search bar\nNext step: Type coffee", typing.Steps[0].Instruction);
        var truth = (AndroidControlTruth)typing.Steps[0].Truth;
        Assert.Equal(new AndroidAction("type_text", 670, 207, Text: "coffee"), truth.Action);
        Assert.Equal(6, truth.Elements.Count); // read from a nested array
        Assert.Equal("Search", AndroidControlTruth.SmallestContaining(truth.Elements, 670, 207)!.Text);
    }

    [Fact]
    public async Task AndroidControl_OS_Atlas_export_is_graded_by_distance()
    {
        var data = await Load("androidcontrol", TestData.Fixture("androidcontrol-osatlas"));
        Assert.Equal(3, data.Episodes.Count);
        Assert.Equal("distance-14", data.Grader.Name);
        Assert.Equal(new AndroidAction("click", 573, 82), ((AndroidControlTruth)data.Episodes[0].Steps[0].Truth).Action);
        Assert.Equal(new AndroidAction("scroll", Direction: "down"), ((AndroidControlTruth)data.Episodes[2].Steps[0].Truth).Action);
        Assert.Equal("Previous actions:\nStep 1: Tap the search bar", data.Episodes[1].Steps[0].Instruction);
        var refusal = await Assert.ThrowsAsync<DatasetLayoutException>(() =>
            Load("androidcontrol", TestData.Fixture("androidcontrol-osatlas"), new BenchmarkSettings { AndroidRule = AndroidControlRule.ElementBox }));
        Assert.Contains("accessibility", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentNetBench_reads_trajectories_and_skips_mapping_files()
    {
        var data = await Load("agentnetbench", TestData.Fixture("agentnetbench"));
        Assert.Equal(["s_fixture_shop", "s_fixture_video"], data.Episodes.Select(e => e.Id));
        var shop = data.Episodes[0];
        Assert.Equal(3, shop.Steps.Count);
        Assert.Equal(["coordinate", "content", "function"], shop.Steps.Select(s => s.Category));
        var write = (AgentNetTruth)shop.Steps[1].Truth;
        Assert.Equal(["write", "press"], write.Actions.Select(a => a.Type));
        Assert.Single(write.Alternatives);
        var box = ((AgentNetTruth)shop.Steps[0].Truth).Actions[0].RelativeBoxes![0];
        Assert.Equal(321 / 1280.0, box.X1, 12);
        Assert.Equal(95 / 800.0, box.Y2, 12);
        Assert.Equal(5, data.ReprefillScreenshots);
    }

    [Fact]
    public async Task AgentNetBench_reads_Parquet_with_embedded_screenshots()
    {
        var folder = TestData.TempFolder("parquet");
        try
        {
            await ParquetFixture.WriteAsync(Path.Combine(TestData.Fixture("agentnetbench"), "test_data"), Path.Combine(folder, "agentnetbench.parquet"));
            if (Environment.GetEnvironmentVariable("STARKV_WRITE_PARQUET_FIXTURE") == "1")
            {
                File.Copy(Path.Combine(folder, "agentnetbench.parquet"), Path.Combine(TestData.Fixture("agentnetbench-parquet"), "agentnetbench.parquet"), overwrite: true);
            }

            var fromParquet = await Load("agentnetbench", folder);
            var fromJson = await Load("agentnetbench", TestData.Fixture("agentnetbench"));
            Assert.Equal(fromJson.Episodes.Select(e => (e.Id, e.Task, e.Steps.Count)), fromParquet.Episodes.Select(e => (e.Id, e.Task, e.Steps.Count)));
            for (var i = 0; i < fromJson.Episodes.Count; i++)
            {
                for (var s = 0; s < fromJson.Episodes[i].Steps.Count; s++)
                {
                    Assert.Equal(fromJson.Episodes[i].Steps[s].Image.Read(), fromParquet.Episodes[i].Steps[s].Image.Read());
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task The_committed_Parquet_fixture_matches_the_JSON_fixture()
    {
        var committed = await Load("agentnetbench", TestData.Fixture("agentnetbench-parquet"));
        var fromJson = await Load("agentnetbench", TestData.Fixture("agentnetbench"));
        Assert.Equal(fromJson.Episodes.Select(e => (e.Id, e.Steps.Count)), committed.Episodes.Select(e => (e.Id, e.Steps.Count)));
        Assert.Equal(fromJson.Episodes[1].Steps[0].Image.Read(), committed.Episodes[1].Steps[0].Image.Read());
    }

    [Fact]
    public async Task Synthetic_reads_tasks_kinds_and_actions()
    {
        var data = await Load("synthetic", TestData.Fixture("synthetic"));
        Assert.Equal(["grounding", "memory", "action"], data.Episodes.Select(e => e.Tag("kind")));
        var memory = data.Episodes[1];
        Assert.Equal(3, memory.Steps.Count);
        Assert.Equal(new SyntheticTruth(SyntheticActionType.Click, new BoxXyxy(777, 54, 849, 92), null, null, 1280, 800), memory.Steps[2].Truth);
        Assert.Equal("", data.Episodes[0].Task);
        Assert.Equal(["type", "scroll", "finished"], data.Episodes[2].Steps.Select(s => s.Category));
    }

    [Theory]
    [InlineData("screenspot-v2", "screenspot_mobile_v2.json")]
    [InlineData("screenspot-pro", "annotations/")]
    [InlineData("androidcontrol", "500_steps.json")]
    [InlineData("agentnetbench", "*.parquet")]
    [InlineData("synthetic", "synthetic.json")]
    public async Task An_empty_folder_is_refused_naming_what_is_missing(string benchmark, string named)
    {
        var folder = TestData.TempFolder("empty");
        try
        {
            var error = await Assert.ThrowsAsync<DatasetLayoutException>(() => Load(benchmark, folder));
            Assert.Contains(named, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Missing_screenshots_and_fields_are_named()
    {
        var folder = TestData.TempFolder("broken");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "screenspotv2_image"));
            File.WriteAllText(Path.Combine(folder, "screenspot_web_v2.json"),
                """[{"img_filename": "gone.png", "bbox": [1, 2, 3, 4], "instruction": "x", "data_type": "text"}]""");
            var missing = await Assert.ThrowsAsync<DatasetLayoutException>(() => Load("screenspot-v2", folder));
            Assert.Contains("gone.png", missing.Message, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(folder, "screenspot_web_v2.json"), """[{"img_filename": "gone.png", "instruction": "x", "data_type": "text"}]""");
            var field = await Assert.ThrowsAsync<DatasetLayoutException>(() => Load("screenspot-v2", folder));
            Assert.Contains("'bbox'", field.Message, StringComparison.Ordinal);
            Assert.Contains("screenspot_web_v2.json[0]", field.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Synthetic_refuses_another_format_and_a_wrong_count()
    {
        var folder = TestData.TempFolder("synthetic");
        try
        {
            foreach (var file in new[] { "synthetic.json", "tasks.jsonl" })
            {
                File.Copy(Path.Combine(TestData.Fixture("synthetic"), file), Path.Combine(folder, file));
            }

            File.WriteAllText(Path.Combine(folder, "synthetic.json"), """{"format": "starkv-synthetic", "version": 1, "split": "test", "seed": 1, "count": 5}""");
            var count = await Assert.ThrowsAsync<DatasetLayoutException>(() => Load("synthetic", folder));
            Assert.Contains("count 5", count.Message, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(folder, "synthetic.json"), """{"format": "other", "version": 1, "count": 3}""");
            var format = await Assert.ThrowsAsync<DatasetLayoutException>(() => Load("synthetic", folder));
            Assert.Contains("'other'", format.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
