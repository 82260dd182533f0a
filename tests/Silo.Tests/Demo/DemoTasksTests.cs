using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Tests.Images;
using StarKv.Protos.V1;
using StarKv.Silo.Demo;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.Silo.Tests.Demo;

public sealed class DemoTasksTests
{
    [Fact]
    public void The_suite_demo_fills_the_steps_with_held_out_tasks_of_each_kind_in_turn()
    {
        var tasks = DemoTasks.Suite(8);

        Assert.Equal(8, tasks.Sum(t => t.Steps.Count));
        Assert.Equal(["grounding", "memory", "action"], tasks.Take(3).Select(t => t.Kind));
        Assert.InRange(tasks[1].Steps.Count, 3, 5);
        Assert.All(tasks.SelectMany(t => t.Steps), s => Assert.NotNull(s.Expected));

        // Every task is a held-out one: its id names a test-split (odd) seed.
        Assert.All(tasks, t => Assert.Equal(SuiteSplit.Test, SuiteSeeds.SplitOf(Convert.ToInt64(t.Label[(t.Label.LastIndexOf('-') + 1)..], 16))));
        var image = ImageDecoder.Decode(tasks[0].Steps[0].Image);
        Assert.True(image.Width > 100 && image.Height > 100);
        Assert.Equal(tasks.Select(t => t.Label), DemoTasks.Suite(8).Select(t => t.Label));
    }

    [Fact]
    public void Steps_too_few_for_a_memory_task_pass_it_over()
    {
        Assert.Equal(["grounding", "action", "grounding"], DemoTasks.Suite(3).Select(t => t.Kind));
    }

    [Fact]
    public void An_annotated_folder_sends_each_screenshot_with_its_instruction_and_target_box_and_wraps_around()
    {
        var annotated = GuiSamples.All;
        var tasks = DemoTasks.FromFolder(GuiSamples.Directory, annotated.Count + 1);

        var first = Assert.Single(tasks[0].Steps);
        Assert.Equal(File.ReadAllBytes(GuiSamples.PathOf(annotated[0].Image)), first.Image);
        Assert.Equal(annotated[0].Image, tasks[0].Label);
        Assert.Equal("click", first.Expected!.Verb);
        Assert.Equal((annotated[0].X1, annotated[0].Y1, annotated[0].X2, annotated[0].Y2), first.Expected.Box);
        Assert.Equal(first.Image, tasks[^1].Steps[0].Image);
        var decoded = ImageDecoder.Decode(tasks[5].Steps[0].Image);
        Assert.Equal(annotated[5].Width, decoded.Width);
    }

    [Fact]
    public void A_plain_folder_sends_its_images_in_name_order_without_a_known_target()
    {
        var folder = Directory.CreateTempSubdirectory("starkv-demo-").FullName;
        try
        {
            File.Copy(GuiSamples.PathOf(GuiSamples.Screenshots[1].Image), Path.Combine(folder, "b.png"));
            File.Copy(GuiSamples.PathOf(GuiSamples.Screenshots[0].Image), Path.Combine(folder, "a.png"));
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");

            var tasks = DemoTasks.FromFolder(folder, 3);

            Assert.Equal(["a.png", "b.png", "a.png"], tasks.Select(t => t.Label));
            Assert.All(tasks, t => Assert.Null(t.Steps[0].Expected));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_missing_or_empty_folder_is_refused_with_its_name()
    {
        var missing = Path.Combine(Path.GetTempPath(), "starkv-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<DirectoryNotFoundException>(() => DemoTasks.FromFolder(missing, 1));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);

        var empty = Directory.CreateTempSubdirectory("starkv-demo-").FullName;
        try
        {
            var none = Assert.Throws<InvalidDataException>(() => DemoTasks.FromFolder(empty, 1));
            Assert.Contains("no PNG or JPEG", none.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void A_step_hits_when_its_action_matches_the_expectation()
    {
        static StepResult Click(double x, double y, string name = "click") =>
            new() { Action = new ParsedAction { Name = name, Point = new Point { X = x, Y = y } } };

        var box = new DemoExpectation("click", (10, 20, 30, 40));
        Assert.True(DemoClient.Hits(Click(20, 30), box));
        Assert.True(DemoClient.Hits(Click(10, 40), box));
        Assert.True(DemoClient.Hits(Click(30, 20), box));
        Assert.False(DemoClient.Hits(Click(30.5, 30), box));
        Assert.False(DemoClient.Hits(Click(20, 19), box));
        Assert.False(DemoClient.Hits(Click(20, 30, "left_double"), box));
        Assert.False(DemoClient.Hits(new StepResult { ParseError = "no action" }, box));
        Assert.True(DemoClient.Hits(new StepResult { Action = new ParsedAction { Name = "type", Text = "hello " } }, new DemoExpectation("type", Text: "hello")));
        Assert.False(DemoClient.Hits(new StepResult { Action = new ParsedAction { Name = "type", Text = "Hello" } }, new DemoExpectation("type", Text: "hello")));
        Assert.True(DemoClient.Hits(new StepResult { Action = new ParsedAction { Name = "scroll", Text = "down" } }, new DemoExpectation("scroll", Text: "down")));
        Assert.False(DemoClient.Hits(new StepResult { Action = new ParsedAction { Name = "scroll", Text = "up" } }, new DemoExpectation("scroll", Text: "down")));
        Assert.True(DemoClient.Hits(new StepResult { Action = new ParsedAction { Name = "finished" } }, new DemoExpectation("finished")));
    }
}
