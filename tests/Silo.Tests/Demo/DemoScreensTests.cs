using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Tests.Images;
using StarKv.Silo.Demo;

namespace StarKv.Silo.Tests.Demo;

public sealed class DemoScreensTests
{
    [Fact]
    public void An_annotated_folder_sends_each_screenshot_with_its_own_instruction_in_order_and_wraps_around()
    {
        var annotated = GuiSamples.All;
        var screens = DemoScreens.FromFolder(GuiSamples.Directory, "unused");

        var first = screens.ForStep(0);
        var wrapped = screens.ForStep(annotated.Count);

        var expected = File.ReadAllBytes(GuiSamples.PathOf(annotated[0].Image));
        Assert.Equal(expected, first.Image);
        Assert.Equal(annotated[0].Image, first.Label);
        Assert.NotEqual("unused", first.Instruction);
        Assert.Equal(first.Image, wrapped.Image);
        Assert.Equal(first.Instruction, wrapped.Instruction);
        var decoded = ImageDecoder.Decode(screens.ForStep(5).Image);
        Assert.Equal(annotated[5].Width, decoded.Width);
        Assert.Equal(annotated[5].Height, decoded.Height);
    }

    [Fact]
    public void A_plain_folder_sends_its_images_in_name_order_with_the_default_instruction()
    {
        var folder = Directory.CreateTempSubdirectory("starkv-demo-").FullName;
        try
        {
            File.Copy(GuiSamples.PathOf(GuiSamples.Screenshots[1].Image), Path.Combine(folder, "b.png"));
            File.Copy(GuiSamples.PathOf(GuiSamples.Screenshots[0].Image), Path.Combine(folder, "a.png"));
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");

            var screens = DemoScreens.FromFolder(folder, "Open the settings.");

            Assert.Equal("a.png", screens.ForStep(0).Label);
            Assert.Equal("b.png", screens.ForStep(1).Label);
            Assert.Equal("a.png", screens.ForStep(2).Label);
            Assert.Equal("Open the settings.", screens.ForStep(1).Instruction);
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
        var error = Assert.Throws<DirectoryNotFoundException>(() => DemoScreens.FromFolder(missing, "x"));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);

        var empty = Directory.CreateTempSubdirectory("starkv-demo-").FullName;
        try
        {
            var none = Assert.Throws<InvalidDataException>(() => DemoScreens.FromFolder(empty, "x"));
            Assert.Contains("no PNG or JPEG", none.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
