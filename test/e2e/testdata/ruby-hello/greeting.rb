# Required by bare name from app.rb: the task root is on RUBYLIB, as on AWS.
module Greeting
  def self.hello(name) = "hello #{name}"
end
