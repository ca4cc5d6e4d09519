// Prompt matching against class names: synonyms, ids, typos, ambiguity, weighted mixes.
#include "test_util.h"

#include "ditstudio/class_names.h"

#include <fstream>
#include <iterator>

namespace ditstudio::test {
namespace {

const std::vector<std::string> &names()
{
    return imagenetClassNames();
}

TEST(Prompt, ImageNetListHasAThousandClassesInOrder)
{
    ASSERT_EQ(names().size(), 1000u);
    EXPECT_EQ(displayName(names(), 0), "tench");
    EXPECT_EQ(displayName(names(), 207), "golden retriever");
}

TEST(Prompt, ExactNameAndSynonymsCaseInsensitive)
{
    auto m = matchPrompt("Golden Retriever", names(), 1000);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m->conditioning.classes.size(), 1u);
    EXPECT_EQ(m->conditioning.classes[0].classId, 207);
    EXPECT_TRUE(m->warnings.empty());
    auto s = matchPrompt("great white shark", names(), 1000);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->conditioning.classes[0].classId, 2);
    auto syn = matchPrompt("man-eater", names(), 1000); // a synonym of class 2
    ASSERT_TRUE(syn.ok());
    EXPECT_EQ(syn->conditioning.classes[0].classId, 2);
}

TEST(Prompt, ClassIdSyntax)
{
    auto m = matchPrompt("#207", names(), 1000);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->conditioning.classes[0].classId, 207);
    EXPECT_FALSE(matchPrompt("#1000", names(), 1000).ok());
}

TEST(Prompt, SmallTypoIsToleratedWithAWarning)
{
    auto m = matchPrompt("golden retriver", names(), 1000);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->conditioning.classes[0].classId, 207);
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_NE(m->warnings[0].find("golden retriever"), std::string::npos);
}

TEST(Prompt, AmbiguousNameListsCandidates)
{
    // "crane" names both the bird (134) and the machine (517) in ImageNet.
    auto m = matchPrompt("crane", names(), 1000);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("ambiguous"), std::string::npos);
    EXPECT_NE(m.error().message.find("#134"), std::string::npos);
    EXPECT_NE(m.error().message.find("#517"), std::string::npos);
}

TEST(Prompt, UnknownNameSuggests)
{
    auto m = matchPrompt("zzzqqq flurble", names(), 1000);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("did you mean"), std::string::npos);
}

TEST(Prompt, WeightedMixIsNormalized)
{
    auto m = matchPrompt("0.7 golden retriever + 0.3 tabby cat", names(), 1000);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m->conditioning.classes.size(), 2u);
    EXPECT_EQ(m->conditioning.classes[0].classId, 207);
    EXPECT_EQ(m->conditioning.classes[1].classId, 281);
    EXPECT_NEAR(m->conditioning.classes[0].weight, 0.7, 1e-12);
    EXPECT_NEAR(m->conditioning.classes[1].weight, 0.3, 1e-12);
    auto eq = matchPrompt("golden retriever + tabby", names(), 1000);
    ASSERT_TRUE(eq.ok());
    EXPECT_NEAR(eq->conditioning.classes[0].weight, 0.5, 1e-12);
}

TEST(Prompt, EmptyPromptAndEmptyTermsAreErrors)
{
    EXPECT_FALSE(matchPrompt("   ", names(), 1000).ok());
    EXPECT_FALSE(matchPrompt("cat + ", names(), 1000).ok());
}

TEST(Prompt, ModelWithoutNamesNeedsIds)
{
    auto m = matchPrompt("cat", {}, 10);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("#N"), std::string::npos);
    EXPECT_TRUE(matchPrompt("#3", {}, 10).ok());
}

TEST(Prompt, LabelsTextParsesPlainAndTsv)
{
    auto plain = parseLabelsText("a\nb, bee\r\n\nc\n");
    ASSERT_EQ(plain.size(), 3u);
    EXPECT_EQ(plain[1], "b, bee");
    auto tsv = parseLabelsText("n01\ttench, Tinca\nn02\tgoldfish\n");
    ASSERT_EQ(tsv.size(), 2u);
    EXPECT_EQ(tsv[0], "tench, Tinca");
}

TEST(Prompt, ClosestClassesForCompletion)
{
    auto ids = closestClasses("golden", names(), 3);
    ASSERT_FALSE(ids.empty());
    EXPECT_NE(std::find(ids.begin(), ids.end(), 207), ids.end());
}

} // namespace
} // namespace ditstudio::test

// Found by fuzz_prompt (tests/data/fuzz-regressions/prompt-stod-crash.bin, 23 bytes): a weight token
// that is not a number ("." before a name) threw std::invalid_argument out of std::stod.
TEST(Prompt, FuzzedMalformedWeightsAreClearErrors)
{
    std::ifstream in(ditstudio::test::dataDir() / "fuzz-regressions" / "prompt-stod-crash.bin",
                     std::ios::binary);
    const std::string crash((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(crash.size(), 23u);
    const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    for (const std::string &prompt : {crash, std::string(". sneaker"), std::string("1.2.3 coat"),
                                      std::string(400, '9') + " bag", std::string("0.5.5*dress + sandal")}) {
        ditstudio::Result<ditstudio::PromptMatch> r
            = ditstudio::makeError(ditstudio::ErrorCode::Internal, "not run");
        ASSERT_NO_THROW(r = ditstudio::matchPrompt(prompt, names, 10)) << prompt;
        ASSERT_FALSE(r.ok()) << prompt;
        EXPECT_EQ(r.error().code, ditstudio::ErrorCode::InvalidArgument) << r.error().message;
        EXPECT_NE(r.error().message.find("is not a weight"), std::string::npos) << r.error().message;
    }
    // Valid weights still work.
    auto ok = ditstudio::matchPrompt("0.7 sneaker + 30% sandal", names, 10);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->conditioning.classes.size(), 2u);
}
